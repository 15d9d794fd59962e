#if canImport(Glibc)
import Glibc
#endif
import CShims
import JSONCoding
import LinuxKit

/// Starts a container under its own `skiff-monitor` and reads what the monitor leaves: the
/// process model that lets containers outlive skiffd (docs/ARCHITECTURE.md, "Process model").
/// skiffd → skiff-monitor (double-forked, a subreaper) → `<runtime> create` → the container's init.
public struct ContainerMonitor: Sendable {
    /// The `skiff-monitor` executable.
    public var monitorPath: String
    /// The OCI runtime: `skiff` or any runc-compatible binary.
    public var runtimePath: String
    /// The runtime's `--root` (its state directory for this handler).
    public var runtimeRoot: String
    public var systemdCgroup = false

    public init(monitorPath: String, runtimePath: String, runtimeRoot: String, systemdCgroup: Bool = false) {
        self.monitorPath = monitorPath
        self.runtimePath = runtimePath
        self.runtimeRoot = runtimeRoot
        self.systemdCgroup = systemdCgroup
    }

    /// One container to create. `directory` is its volatile directory: the monitor keeps its pid,
    /// the container's pid, the terminal socket and, at the end, the exit record there.
    public struct Request: Sendable {
        public var id: String
        public var bundle: String
        public var directory: String
        public var logPath: String
        public var stdin = false
        public var stdinOnce = false
        public var terminal = false

        public init(id: String, bundle: String, directory: String, logPath: String, stdin: Bool = false, stdinOnce: Bool = false, terminal: Bool = false) {
            self.id = id
            self.bundle = bundle
            self.directory = directory
            self.logPath = logPath
            self.stdin = stdin
            self.stdinOnce = stdinOnce
            self.terminal = terminal
        }

        /// Where the monitor lets the streaming server attach to the container's stdio.
        public static func attachSocket(directory: String) -> String { directory + "/attach.sock" }
    }

    public struct Started: Sendable, Equatable {
        /// The container's init, waiting for `start`.
        public var pid: Int32
        public var monitorPID: Int32
    }

    /// What the monitor writes when the init has exited and its output is logged.
    public struct Exit: Codable, Sendable, Equatable {
        public var pid: Int32
        /// The raw wait status.
        public var status: Int32
        /// The exit code, or 128 + the signal that ended it (137 for SIGKILL), as CRI reports it.
        public var exitCode: Int32
        /// Nanoseconds since the epoch.
        public var exitedAt: Int64
        public var signal: Int32? { status & 0x7f != 0 ? status & 0x7f : nil }
    }

    /// The runtime's command line for `create`, as the monitor runs it.
    func createArguments(_ request: Request) -> [String] {
        var args = [runtimePath, "--root", runtimeRoot]
        if systemdCgroup { args.append("--systemd-cgroup") }
        args += ["create", "--bundle", request.bundle, "--pid-file", request.directory + "/pid"]
        if request.terminal { args += ["--console-socket", request.directory + "/console.sock"] }
        return args + [request.id]
    }

    /// Runs create under a new monitor and waits (blocking: call it off the event loop) until the
    /// container waits for `start`, or the runtime failed, or `timeout` seconds passed.
    public func create(_ request: Request, timeout: Double = 60) throws(PodManagerError) -> Started {
        var sync: [Int32] = [0, 0]
        guard cs_pipe_cloexec(&sync) == 0 else { throw .system(SystemError("pipe2")) }
        defer { close(sync[0]) }
        var args = ["--dir", request.directory, "--log", request.logPath, "--pid-file", request.directory + "/pid",
                    "--sync-fd", "3"]
        if request.stdin { args.append("--stdin") }
        if request.stdin && request.stdinOnce { args.append("--stdin-once") }
        if request.terminal { args += ["--console-socket", request.directory + "/console.sock"] }
        args += ["--attach", Request.attachSocket(directory: request.directory)]
        args += ["--"] + createArguments(request)
        let first: pid_t
        do { first = try spawn(args, syncFD: sync[1]) } catch {
            close(sync[1])
            throw error
        }
        close(sync[1])
        // The first process only forks the monitor proper and exits.
        var status: Int32 = 0
        while waitpid(first, &status, 0) < 0 && errno == EINTR {}
        let reply = readReply(sync[0], timeout: timeout)
        let fields = reply.split(separator: " ", maxSplits: 2)
        if fields.first == "0", fields.count == 3, let pid = Int32(fields[1]), let monitor = Int32(fields[2].trimmingSuffix("\n")) {
            return Started(pid: pid, monitorPID: monitor)
        }
        if reply.isEmpty {
            // Stuck (a hook that never returns, a runtime that hangs): end the monitor's session, the
            // runtime with it; the caller deletes what the runtime left.
            if let monitor = Self.monitorPID(directory: request.directory), monitor > 0 {
                kill(-monitor, SIGKILL)
            }
            throw .runtimeFailed(operation: "create", message: "no answer from the runtime within \(Int(timeout)) s")
        }
        throw .runtime("create", said: String(reply.dropFirst(2)).trimmingSuffix("\n"))
    }

    /// The exit record, once the monitor has written it.
    public static func exit(directory: String) -> Exit? {
        guard let bytes = try? AtomicFile.read(directory + "/exit", limit: 4096) else { return nil }
        return try? JSONDecoding.decode(Exit.self, from: bytes)
    }

    /// The monitor's pid as it recorded it.
    public static func monitorPID(directory: String) -> Int32? {
        (try? AtomicFile.read(directory + "/monitor.pid", limit: 64)).flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingSuffix("\n")) }
    }

    private func spawn(_ args: [String], syncFD: Int32) throws(PodManagerError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        posix_spawn_file_actions_adddup2(&actions, syncFD, 3)
        let argv = ([monitorPath] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, monitorPath, &actions, nil, argv, environ)
        guard rc == 0 else { throw .system(SystemError("spawn", path: monitorPath, errno: rc)) }
        return pid
    }

    private func readReply(_ fd: Int32, timeout: Double) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var remaining = Int32(timeout * 1000)
        while remaining > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let started = WallClock.monotonicMilliseconds()
            let ready = poll(&p, 1, remaining)
            remaining -= Int32(WallClock.monotonicMilliseconds() - started)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : String(self)
    }
}
