#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: what was attempted, on which path, and the errno it returned.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, path: String = "", errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The C library's text for the errno.
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String {
        return path.isEmpty ? "\(operation): \(reason)" : "\(operation) \(path): \(reason)"
    }
}

/// Runs a system call, repeating it while it fails with EINTR.
@inline(__always)
func retryingOnInterrupt<T: SignedInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result >= 0 || errno != EINTR { return result }
    }
}
