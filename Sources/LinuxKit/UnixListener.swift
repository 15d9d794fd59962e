#if canImport(Glibc)
import Glibc
#endif

/// Creates the daemon's listening unix socket itself (rather than letting the gRPC transport
/// bind it) so the mode and group are right before the first client can connect.
public enum UnixListener {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case pathTooLong(String)
        case notASocket(String)
        case system(SystemError)

        public var description: String {
            switch self {
            case .pathTooLong(let path): "socket path \(path) is longer than the kernel's limit"
            case .notASocket(let path): "\(path) exists and is not a socket; refusing to replace it"
            case .system(let error): error.description
            }
        }
    }

    /// Binds and listens on `path`, replacing a stale socket file left by a daemon that died.
    /// The caller must hold the path's `FileLock`, which proves no live daemon owns the file.
    public static func listen(path: String, mode: mode_t, gid: gid_t?, backlog: Int32 = 128) throws(Failure) -> Int32 {
        guard let address = UnixSocket.address(path) else { throw .pathTooLong(path) }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path) }
            guard unlink(path) == 0 else { throw .system(SystemError("unlink", path: path)) }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(SystemError("socket", path: path)) }
        do {
            // bind() creates the file with the process umask; a tight umask around it means the
            // socket is never reachable with wider permissions than `mode`, even for an instant.
            let oldMask = umask(0o177)
            let bound = UnixSocket.withSockaddr(address) { bind(fd, $0, $1) }
            umask(oldMask)
            guard bound == 0 else { throw SystemError("bind", path: path) }
            if let gid, chown(path, 0, gid) != 0 { throw SystemError("chown", path: path) }
            guard chmod(path, mode) == 0 else { throw SystemError("chmod", path: path) }
            guard Glibc.listen(fd, backlog) == 0 else { throw SystemError("listen", path: path) }
            return fd
        } catch let error as SystemError {
            close(fd)
            throw .system(error)
        } catch {
            close(fd)
            throw .system(SystemError("listen", path: path, errno: EIO))
        }
    }
}
