#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import LinuxKit
import OCI
import SystemdBus

/// Where a new container's cgroup is and how its init gets in, for either driver:
/// - cgroupfs: the directory is made, with its limits and device filter, before the clone, which
///   starts the init inside it (`clone3(CLONE_INTO_CGROUP)`);
/// - systemd (`--systemd-cgroup`): systemd makes the directory, as a transient scope, when it is
///   given the init's pid; the init waits at its first step meanwhile, and the limits and the
///   device filter go on before it is released (as runc does).
struct CgroupPlacement {
    let cgroups: CgroupV2
    let directory: String
    /// For CLONE_INTO_CGROUP, or -1 when `place` puts the init in.
    let fd: Int32
    let unit: String?
    let place: ((Int32) throws(RuntimeError) -> Void)?

    static func prepare(_ spec: RuntimeSpec, id: String, devices: DeviceFilter, systemd: Bool) throws(RuntimeError) -> CgroupPlacement {
        let resources = spec.linux?.resources
        do {
            let cgroups = try CgroupV2.mounted()
            let files = try CgroupResources.files(resources)
            guard systemd else {
                let directory = try cgroups.directory(for: spec.linux?.cgroupsPath, id: id)
                let fd = try cgroups.create(directory, files: files)
                // A container owns its cgroup: `delete` kills everything in it, so one that already
                // has processes (another container's, the caller's own) is refused, as runc 1.2 does.
                let present = cgroups.processes(directory)
                guard present.isEmpty else {
                    close(fd)
                    throw CgroupError("\(directory) already has \(present.count) process\(present.count == 1 ? "" : "es"): a container needs a cgroup of its own")
                }
                // Before the clone: the child's own mknods already go through the filter.
                try cgroups.setDevices(devices, cgroupFD: fd)
                return CgroupPlacement(cgroups: cgroups, directory: directory, fd: fd, unit: nil, place: nil)
            }
            let scope = try SystemdScope(cgroupsPath: spec.linux?.cgroupsPath, id: id)
            let directory = cgroups.root + scope.relativePath
            let place = { (pid: Int32) throws(RuntimeError) in
                do {
                    let manager = try SystemdManager()
                    try manager.startTransientUnit(scope.unit, properties: scope.startProperties(pid: pid) + SystemdScope.properties(resources))
                    let fd = try cgroups.create(directory, files: files)
                    defer { close(fd) }
                    try cgroups.setDevices(devices, cgroupFD: fd)
                } catch let error as DBusError {
                    throw .cgroup("systemd: \(error)")
                } catch let error as CgroupError {
                    throw .cgroup(error.message)
                } catch {
                    throw .cgroup("\(error)")
                }
            }
            return CgroupPlacement(cgroups: cgroups, directory: directory, fd: -1, unit: scope.unit, place: place)
        } catch let error as CgroupError {
            throw .cgroup(error.message)
        } catch {
            throw .cgroup("\(error)")
        }
    }

    /// Undoes a placement whose container could not be created.
    func remove() {
        if let unit { try? SystemdManager().stopUnit(unit) }
        try? cgroups.remove(directory)
    }
}
