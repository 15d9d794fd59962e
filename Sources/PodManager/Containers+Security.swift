#if canImport(Glibc)
import Glibc
#endif
import Capabilities
import JSONCoding
import LinuxKit
import OCI
import SpecBuilder

// What a container's security settings need from the node: the capabilities skiffd can hand on
// and the Localhost seccomp profiles operators keep on disk.
extension Containers {
    /// skiffd's bounding set (CapBnd in /proc/self/status): what privileged and `ALL` grant. A node
    /// whose own bounding set lacks a capability (a nested or hardened host) cannot pass it on, and
    /// asking the kernel for it would fail the container's start.
    static let hostCapabilities: [String] = {
        guard let bytes = try? AtomicFile.read("/proc/self/status", limit: 64 << 10) else { return Capability.names }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("CapBnd:") {
            if let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) { return Capability.list(mask) }
        }
        return Capability.names
    }()

    /// A Localhost seccomp profile: an absolute path on the node to an OCI (or Docker) profile.
    static func localSeccompProfile(_ path: String) throws -> RuntimeSpec.Seccomp {
        let field = "security_context.seccomp.localhost_ref"
        guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw PodManagerError.invalidArgument(field: field, reason: "must be an absolute path without '..'")
        }
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path, limit: 1 << 20) } catch {
            throw PodManagerError.invalidArgument(field: field, reason: "cannot read \(path): \(error)")
        }
        do { return try JSONDecoding.decode(RuntimeSpec.Seccomp.self, from: bytes) } catch {
            throw PodManagerError.invalidArgument(field: field, reason: "\(path) is not a seccomp profile: \(error)")
        }
    }

    /// CRI devices completed from the host's nodes: each `host_path` must be a character or block
    /// device (its type and numbers go into the spec and the device filter), `permissions` a
    /// non-empty subset of "rwm" (empty means all, as the kubelet's device plugins send it).
    static func hostDevices(_ devices: [ContainerInput.Device]) throws -> [ContainerInput.Device] {
        try devices.enumerated().map { index, device in
            let field = "devices[\(index)]"
            guard device.containerPath.hasPrefix("/"), !device.containerPath.split(separator: "/").contains(".."),
                  PodSandboxValidation.plain(device.containerPath) else {
                throw PodManagerError.invalidArgument(field: field + ".container_path", reason: "must be an absolute path without '..'")
            }
            var info = stat()
            guard device.hostPath.hasPrefix("/"), stat(device.hostPath, &info) == 0 else {
                throw PodManagerError.invalidArgument(field: field + ".host_path", reason: "\(device.hostPath) is not on this node")
            }
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFCHR || kind == S_IFBLK else {
                throw PodManagerError.invalidArgument(field: field + ".host_path", reason: "\(device.hostPath) is not a device node")
            }
            let permissions = device.permissions.isEmpty ? "rwm" : device.permissions
            guard Set(permissions).isSubset(of: "rwm") else {
                throw PodManagerError.invalidArgument(field: field + ".permissions", reason: "'\(device.permissions)' is not made of r, w and m")
            }
            var out = device
            out.permissions = permissions
            out.type = kind == S_IFCHR ? "c" : "b"
            let (major, minor) = FileSystem.deviceNumbers(UInt64(info.st_rdev))
            out.major = Int64(major)
            out.minor = Int64(minor)
            return out
        }
    }
}
