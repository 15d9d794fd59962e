#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import LinuxKit
import OCI
import SystemdBus

/// What can be done to a live container through its cgroup: `pause`, `resume`, `update`, `events`.
extension Runtime {
    /// The container's cgroup, for an operation that needs it.
    func cgroup(of record: ContainerRecord, for operation: String) throws(RuntimeError) -> (CgroupV2, String) {
        guard let dir = record.cgroupPath else { throw .cgroup("container \(record.id) has no cgroup to \(operation)") }
        do { return (try CgroupV2.mounted(), dir) } catch { throw .cgroup(error.message) }
    }

    /// `pause`: freezes every process of the container (cgroup.freeze), as runc does on v2.
    public func pause(id: String) throws(RuntimeError) {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .running || status == .created else { throw .wrongState(id: id, status: status.rawValue, operation: "pause") }
        let (cgroups, dir) = try cgroup(of: record, for: "pause")
        do { try cgroups.setFrozen(dir, true) } catch { throw .cgroup(error.message) }
    }

    public func resume(id: String) throws(RuntimeError) {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .paused else { throw .wrongState(id: id, status: status.rawValue, operation: "resume") }
        let (cgroups, dir) = try cgroup(of: record, for: "resume")
        do { try cgroups.setFrozen(dir, false) } catch { throw .cgroup(error.message) }
    }

    /// `update`: new limits for a live container (CRI's UpdateContainerResources). As in runc a
    /// zero means "unchanged", and a CPU quota or period given alone keeps the other's current
    /// value. Devices given here replace the container's device program atomically.
    public func update(id: String, resources: RuntimeSpec.Resources) throws(RuntimeError) {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status != .stopped else { throw .wrongState(id: id, status: "stopped", operation: "update") }
        let (cgroups, dir) = try cgroup(of: record, for: "update")
        var resources = resources
        if resources.pids?.limit == 0 { resources.pids = nil }
        if var cpu = resources.cpu, (cpu.quota == nil) != (cpu.period == nil) {
            let current = (try? AtomicFile.read(dir + "/cpu.max")).map { String(decoding: $0, as: UTF8.self) } ?? "max 100000"
            let fields = current.split(whereSeparator: { $0 == " " || $0 == "\n" })
            if cpu.quota == nil { cpu.quota = fields.first.flatMap { Int64($0) } ?? -1 }
            if cpu.period == nil { cpu.period = fields.dropFirst().first.flatMap { UInt64($0) } ?? 100_000 }
            resources.cpu = cpu
        }
        let devices = resources.devices
        resources.devices = nil
        CgroupResources.warnings(resources).forEach(warn)
        do {
            // Under the systemd driver the unit's properties change too, or a daemon-reload would
            // put the old limits back.
            if let unit = record.systemdUnit {
                let properties = SystemdScope.properties(resources)
                if !properties.isEmpty { try SystemdManager().setUnitProperties(unit, properties: properties) }
            }
            // The same walk as at create: a controller not needed before is enabled on the way down.
            let fd = try cgroups.create(dir, files: try CgroupResources.files(resources))
            defer { close(fd) }
            if let devices { try cgroups.setDevices(try filter(devices), cgroupFD: fd) }
        } catch let error as CgroupError {
            throw .cgroup(error.message)
        } catch let error as DBusError {
            throw .cgroup("systemd: \(error)")
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw .cgroup("\(error)")
        }
    }

    private func filter(_ rules: [RuntimeSpec.DeviceRule]) throws(RuntimeError) -> DeviceFilter {
        do { return try DeviceFilter.container(rules) } catch {
            throw .invalidSpec(field: "devices[\(error.index)]", reason: error.reason)
        }
    }

    /// The container's usage now (`events --stats`); a stopped container has none.
    public func stats(id: String) throws(RuntimeError) -> CgroupStats {
        let record = try store.load(id)
        guard store.status(of: record) != .stopped else { throw .wrongState(id: id, status: "stopped", operation: "read stats of") }
        let (cgroups, dir) = try cgroup(of: record, for: "read stats of")
        return cgroups.stats(dir)
    }
}
