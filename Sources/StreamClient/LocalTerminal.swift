#if canImport(Glibc)
import Glibc
#endif
import CTerminal

/// The local terminal while a remote one is attached: raw mode (so keys such as ^C reach the
/// container), restored at the end, and the window's size with a descriptor that becomes readable
/// when SIGWINCH says it changed.
final class LocalTerminal {
    private var saved = [UInt8](repeating: 0, count: 256)
    private let raw: Bool
    /// Readable after a SIGWINCH.
    private(set) var resizes: Int32 = -1

    init() {
        raw = isatty(STDIN_FILENO) == 1 && ct_make_raw(STDIN_FILENO, &saved, saved.count) == 0
        var pipeFDs: [Int32] = [-1, -1]
        if isatty(STDOUT_FILENO) == 1, pipe(&pipeFDs) == 0 {
            for fd in pipeFDs { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            winchWriter = pipeFDs[1]
            resizes = pipeFDs[0]
            signal(SIGWINCH) { _ in
                var byte: UInt8 = 1
                _ = write(winchWriter, &byte, 1)
            }
        }
    }

    var size: (width: UInt16, height: UInt16)? {
        var columns: UInt16 = 0, rows: UInt16 = 0
        guard ct_window_size(STDOUT_FILENO, &columns, &rows) == 0, columns > 0, rows > 0 else { return nil }
        return (columns, rows)
    }

    /// After a SIGWINCH: the new size (several signals, one answer).
    func drainResizes() -> (width: UInt16, height: UInt16)? {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(resizes, &buffer, buffer.count) > 0 {}
        return size
    }

    func restore() {
        if raw { _ = ct_restore(STDIN_FILENO, saved, saved.count) }
        if resizes >= 0 {
            signal(SIGWINCH, SIG_DFL)
            close(resizes)
            close(winchWriter)
            resizes = -1
        }
    }
}

/// The signal handler's end of the resize pipe: a C handler captures nothing.
nonisolated(unsafe) private var winchWriter: Int32 = -1
