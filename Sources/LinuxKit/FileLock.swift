#if canImport(Glibc)
import Glibc
#endif

/// An exclusive, non-blocking `flock` on a file, held for the life of this value.
/// skiffd takes one beside its socket so that a second daemon on the same socket is refused
/// instead of silently stealing the path; the kernel drops the lock if the holder dies.
public final class FileLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Thrown when another process holds the lock.
    public struct Held: Error, Sendable {
        public let path: String
    }

    public init(path: String) throws {
        let fd = retryingOnInterrupt { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw SystemError("open", path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK { throw Held(path: path) }
            throw SystemError("flock", path: path, errno: err)
        }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }
}
