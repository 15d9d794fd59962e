#if canImport(Glibc)
import Glibc
#endif
import Capabilities
import JSONCoding
import LinuxKit
import OCI

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
}
