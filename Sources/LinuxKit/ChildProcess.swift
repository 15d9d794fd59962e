#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Runs a program and captures its output without threads or dispatch: a container that inherits
/// the pipes can keep them open long after the program exits, and blocking readers on a small
/// dispatch pool (two cores) would starve everything else. This polls in the calling thread and
/// stops reading once the program has exited and its buffered output is drained.
/// Used for OCI hooks and by the test suites.
public struct ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Killed because it outlived the timeout.
        public var timedOut = false
        /// The output as bytes (binary output is not text), each at most `outputLimit` long.
        public var stdoutBytes: [UInt8] = []
        public var stderrBytes: [UInt8] = []
        /// More was written than `outputLimit`: the rest was read and dropped.
        public var truncated = false
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String { "cannot run \(path): \(String(cString: strerror(errno)))" }
    }

    /// `status` is the exit code, or 128 + signal. `environment` is added to this process's own
    /// unless `exactEnvironment` is given; `stdin` is written to the program's standard input.
    /// At the timeout, `onTimeout` (if given) runs first and the program gets `grace` seconds to
    /// end by itself (a runtime's exec reaps the process `onTimeout` killed); then it is killed.
    public static func run(
        _ path: String, _ args: [String], argv0: String? = nil, environment: [String: String] = [:],
        exactEnvironment: [String]? = nil, stdin: [UInt8] = [], timeout: Double = 60, outputLimit: Int = 64 << 20,
        onTimeout: (() -> Void)? = nil, grace: Double = 2
    ) throws -> Result {
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0], input: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0, pipe(&input) == 0 else { throw SpawnError(path: path, errno: errno) }
        // Close-on-exec, so only the dup2'd copies reach the child.
        for fd in out + err + input { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        let argv = ([argv0 ?? path] + args).map { strdup($0) } + [nil]
        let envp = (exactEnvironment ?? mergedEnvironment(environment)).map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(out[1])
        close(err[1])
        close(input[0])
        guard rc == 0 else {
            close(out[0]); close(err[0]); close(input[1])
            throw SpawnError(path: path, errno: rc)
        }
        // Readable once the program has exited: its pipes close a moment before it can be reaped,
        // and a poll on closed pipes alone would sleep its whole timeout in that moment.
        let exitFD = cs_pidfd_open(pid)
        defer { close(out[0]); close(err[0]); if exitFD >= 0 { close(exitFD) } }
        for fd in [out[0], err[0], input[1]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var pending = stdin[...]
        var inputFD: Int32 = input[1]
        defer { if inputFD >= 0 { close(inputFD) } }
        var outBytes: [UInt8] = [], errBytes: [UInt8] = []
        var dropped = false
        var open = [true, true]
        var status: Int32 = 0
        var exited = false
        var timedOut = false
        var deadline = now() + timeout
        var onTimeout = onTimeout
        while true {
            if inputFD >= 0 {
                // Written as the program reads; EPIPE (it does not read) just ends the input.
                // Callers that pass input ignore SIGPIPE (skiff does, in main).
                let n = pending.isEmpty ? 0 : pending.withUnsafeBytes { write(inputFD, $0.baseAddress, $0.count) }
                if n > 0 { pending = pending.dropFirst(n) }
                if pending.isEmpty || (n < 0 && errno != EAGAIN) { close(inputFD); inputFD = -1 }
            }
            drain(out[0], into: &outBytes, open: &open[0], limit: outputLimit, dropped: &dropped)
            drain(err[0], into: &errBytes, open: &open[1], limit: outputLimit, dropped: &dropped)
            if !exited {
                let w = waitpid(pid, &status, WNOHANG)
                if w == pid { exited = true }
            }
            // Exited and drained, or both pipes closed and exited.
            if exited {
                drain(out[0], into: &outBytes, open: &open[0], limit: outputLimit, dropped: &dropped)
                drain(err[0], into: &errBytes, open: &open[1], limit: outputLimit, dropped: &dropped)
                break
            }
            if now() > deadline, let hook = onTimeout {
                hook()
                onTimeout = nil
                timedOut = true
                deadline = now() + grace
                continue
            }
            if now() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                exited = true
                timedOut = true
                continue
            }
            // Closed pipes are left out (-1); without a pidfd (an old kernel) the wait is short.
            var fds = [pollfd(fd: open[0] ? out[0] : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: open[1] ? err[0] : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 3, exitFD >= 0 ? 20 : (open[0] || open[1] ? 20 : 1))
        }
        let signalled = status & 0x7f
        return Result(status: signalled == 0 ? (status >> 8) & 0xff : 128 + signalled,
                      stdout: String(decoding: outBytes, as: UTF8.self), stderr: String(decoding: errBytes, as: UTF8.self),
                      timedOut: timedOut, stdoutBytes: outBytes, stderrBytes: errBytes, truncated: dropped)
    }

    static func mergedEnvironment(_ extra: [String: String]) -> [String] {
        var env = [String: String]()
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { env[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            index += 1
        }
        env.merge(extra) { _, new in new }
        return env.map { "\($0.key)=\($0.value)" }
    }

    private static func drain(_ fd: Int32, into bytes: inout [UInt8], open: inout Bool, limit: Int, dropped: inout Bool) {
        guard open else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                let keep = min(n, max(0, limit - bytes.count))
                bytes += buffer[0..<keep]
                if keep < n { dropped = true }
                continue
            }
            if n == 0 { open = false }
            return
        }
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
