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
        guard let address = UnixSocket.address(target) else { throw SystemError("sd_notify", path: target, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: target) }
        defer { close(fd) }
        let sent = UnixSocket.withSockaddr(address) { sa, length in
            Array(state.utf8).withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
        }
        guard sent >= 0 else { throw SystemError("sendto", path: target) }
        return true
    }
}
