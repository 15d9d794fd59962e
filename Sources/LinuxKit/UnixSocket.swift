#if canImport(Glibc)
import Glibc
#endif

/// Unix socket addresses and the client side: `skiff --console-socket`, the tests' listeners.
public enum UnixSocket {
    public struct Address {
        public var raw = sockaddr_un()
        public var length: socklen_t
    }

    /// The address of `path`; a leading '@' names an abstract socket (a NUL first byte on the
    /// wire, and a length that counts only the name). nil when the kernel's limit is exceeded.
    public static func address(_ path: String) -> Address? {
        var raw = sockaddr_un()
        raw.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: raw.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &raw.sun_path) { buffer in
            for (i, b) in bytes.enumerated() { buffer[i] = b }
        }
        let length = abstract ? MemoryLayout<sa_family_t>.size + bytes.count : MemoryLayout<sockaddr_un>.size
        return Address(raw: raw, length: socklen_t(length))
    }

    /// Calls `body` with `address` as the `sockaddr` that bind, connect and sendto take.
    public static func withSockaddr<T>(_ address: Address, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: address.raw) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, address.length) }
        }
    }

    /// A socket of `type` bound to `path` (tests' listeners, datagram receivers).
    public static func bound(path: String, type: Int32) throws(SystemError) -> Int32 {
        guard let address = address(path) else { throw SystemError("bind", path: path, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: path) }
        guard withSockaddr(address, { bind(fd, $0, $1) }) == 0 else {
            let error = SystemError("bind", path: path)
            close(fd)
            throw error
        }
        return fd
    }

    /// A connected, close-on-exec stream socket.
    public static func connect(path: String) throws(SystemError) -> Int32 {
        guard let address = address(path) else { throw SystemError("connect", path: path, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: path) }
        let rc = withSockaddr(address) { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else {
            let error = SystemError("connect", path: path)
            close(fd)
            throw error
        }
        return fd
    }
}
