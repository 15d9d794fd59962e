#if canImport(Glibc)
import Glibc
#endif

/// The `sd_notify` protocol: one datagram to the unix socket named by `NOTIFY_SOCKET`.
/// Written here rather than linked from libsystemd so the daemon has no systemd dependency.
public enum SystemdNotify {
    /// Sends `state` (e.g. `READY=1`); returns false when no notify socket is configured.
    @discardableResult
    public static func send(_ state: String, socketPath: String? = nil) throws -> Bool {
        guard let target = socketPath ?? getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !target.isEmpty else {
            return false
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(target.utf8)
        // A leading '@' names an abstract socket: its first byte is NUL on the wire.
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw SystemError("sd_notify", path: target, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: target) }
        defer { close(fd) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        let sent = withUnsafePointer(to: &address) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                Array(state.utf8).withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
            }
        }
        guard sent >= 0 else { throw SystemError("sendto", path: target) }
        return true
    }
}
