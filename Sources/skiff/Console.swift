#if canImport(Glibc)
import Glibc
#endif
import CShims
import CTerminal
import LinuxKit
import RuntimeEngine

/// Where a container's pty master goes. With `--console-socket` it is sent to that socket (the
/// caller's shim copies the terminal); a foreground `run`/`exec` without one keeps it and copies
/// between the pty and its own stdio, as runc does.
enum Console {
    case none
    case socket(Int32)
    case proxy(ours: Int32, theirs: Int32)

    /// `path` given: connect to it. Else a socket pair when the process wants a terminal and we
    /// stay in the foreground.
    static func make(socketPath: String?, terminal: Bool, detach: Bool, _ context: RuntimeContext) throws -> Console {
        if let socketPath {
            do {
                return .socket(try UnixSocket.connect(path: socketPath))
            } catch {
                throw context.failure("console socket: \(error)")
            }
        }
        guard terminal, !detach else { return .none }
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw context.failure("socketpair: \(SystemError("socketpair").reason)")
        }
        return .proxy(ours: pair[0], theirs: pair[1])
    }

    /// The fd the runtime hands to the child, or -1.
    var childFD: Int32 {
        switch self {
        case .none: -1
        case .socket(let fd): fd
        case .proxy(_, let theirs): theirs
        }
    }

    func close() {
        switch self {
        case .none: break
        case .socket(let fd): Glibc.close(fd)
        case .proxy(let ours, let theirs): Glibc.close(ours); Glibc.close(theirs)
        }
    }

    /// Foreground with a proxy: copies stdin to the pty and the pty to stdout until the
    /// container's side closes, then waits for `pid`. Returns nil when there is nothing to copy.
    func copyUntilExit(pid: Int32, runtime: Runtime) -> Int32? {
        guard case .proxy(let ours, _) = self else { return nil }
        let master = cs_recv_fd(ours)
        guard master >= 0 else { return runtime.wait(pid: pid) }
        defer { Glibc.close(master) }
        var saved = [UInt8](repeating: 0, count: 128)
        let raw = isatty(0) == 1 && ct_make_raw(0, &saved, saved.count) == 0
        defer { if raw { _ = ct_restore(0, saved, saved.count) } }
        // Our terminal's size, or 80x24 without one.
        var columns: UInt16 = 80, rows: UInt16 = 24
        if isatty(0) != 1 || ct_window_size(0, &columns, &rows) == 0 { _ = ct_set_window_size(master, columns, rows) }
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: master, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 16384)
        loop: while true {
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { break }
            if fds[0].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n > 0 {
                    writeAll(master, buffer[0..<n])
                } else {
                    // End of our input: an EOT tells a program reading the terminal, then stop
                    // watching stdin (poll ignores negative fds).
                    writeAll(master, [4])
                    fds[0].fd = -1
                }
            }
            if fds[1].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                // EIO: every process holding the pty's other end has gone.
                guard n > 0 else { break loop }
                writeAll(1, buffer[0..<n])
            }
        }
        return runtime.wait(pid: pid)
    }

    private func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            rest = rest.dropFirst(n)
        }
    }
}
