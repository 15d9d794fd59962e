import CRIAPI
import CRIClient
import Foundation
import Glibc
import LinuxKit

/// Built executables live beside the test bundle in the build directory.
enum Binaries {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["SKIFF_BIN_DIR"] { return dir }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }
}

/// The outcome of a finished command.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion with a time bound, capturing its output.
func runCommand(_ path: String, _ args: [String], environment: [String: String] = [:], timeout: Double = 30) throws -> CommandResult {
    let result = try ChildProcess.run(path, args, environment: environment, timeout: timeout)
    return CommandResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
}

/// One skiffd on a private socket, root and state under a temporary directory. Started with
/// posix_spawn and reaped with waitpid: Foundation's Process missed exits under load and spun in
/// waitUntilExit with the daemon already a zombie.
final class DaemonHarness: @unchecked Sendable {
    let dir: String
    /// Whether deinit removes `dir`: a daemon restarted on the same directory takes it over.
    var ownsDirectory = true
    private var pid: pid_t = 0
    private var exitStatus: Int32?
    /// The daemon's pid: a robustness test checks that it never changes.
    var processID: pid_t { pid }

    var root: String { dir + "/root" }
    var state: String { dir + "/state" }
    let socket: String
    var endpoint: CRIEndpoint { try! CRIEndpoint(socket) }
    var configFile: String { dir + "/etc/config.toml" }
    var cniDir: String { dir + "/net.d" }
    var logFile: String { dir + "/skiffd.log" }

    struct SpawnFailed: Error, CustomStringConvertible {
        let errno: Int32
        var description: String { "cannot start skiffd: \(String(cString: strerror(errno)))" }
    }

    /// Starts skiffd and waits until it answers `Version`. `restarting` starts a new daemon on the
    /// directory (config, root, state) of a stopped one, which hands the directory over.
    /// `networkNamespace`: a namespace (its path) the daemon runs in, so that what CNI plugins make
    /// on the "host" side (a bridge, veths) is made there, never in the host's.
    init(config: String = "", environment: [String: String] = [:], socket: String? = nil,
         restarting previous: DaemonHarness? = nil, networkNamespace: String? = nil) async throws {
        dir = previous?.dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("skiff-e2e-\(UUID().uuidString.prefix(8))").path
        previous?.ownsDirectory = false
        self.socket = socket ?? previous?.socket ?? dir + "/state/skiff.sock"
        if previous == nil {
            try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: cniDir, withIntermediateDirectories: true)
            try ("[cni]\nconf_dir = \"\(cniDir)\"\n" + config).write(toFile: configFile, atomically: true, encoding: .utf8)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let daemon = Binaries.path("skiffd")
        let path = networkNamespace == nil ? daemon : "/usr/bin/nsenter"
        // nsenter execs the daemon: the pid stays the daemon's.
        let args = (networkNamespace.map { [path, "--net=" + $0, "--"] } ?? []) + [daemon, "--config", configFile, "--root", root, "--state", state, "--socket", self.socket]
        let env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.map { "\($0.key)=\($0.value)" }
        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw SpawnFailed(errno: rc) }
        try await waitUntilServing()
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
        guard ownsDirectory else { return }
        // Containers the daemon left: their monitors go when they do.
        let skiff = Binaries.path("skiff"), runtimeRoot = state + "/runtime"
        if let listed = try? runCommand(skiff, ["--root", runtimeRoot, "list", "-q"]) {
            for id in listed.stdout.split(separator: "\n") { _ = try? runCommand(skiff, ["--root", runtimeRoot, "delete", "--force", String(id)]) }
        }
        // Pods the daemon left (pinned namespaces are bind mounts) must not outlive the test.
        let mounts = FileSystem.mountInfo().split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }.filter { $0.hasPrefix(dir + "/") }
        for mount in mounts.sorted(by: { $0.count > $1.count }) { umount2(mount, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Reaps the daemon if it has exited; the exit code, or 128 + signal.
    var isRunning: Bool {
        if exitStatus == nil, pid > 0 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let signal = status & 0x7f
                exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
        }
        return pid > 0 && exitStatus == nil
    }

    struct NotServing: Error, CustomStringConvertible {
        let log: String
        var description: String { "skiffd did not start serving: \(log)" }
    }

    private func waitUntilServing() async throws {
        for _ in 0..<200 {
            guard isRunning else { break }
            if FileManager.default.fileExists(atPath: socket),
                (try? await CRIClient.with(endpoint: endpoint, timeout: .seconds(2)) { cri in
                    try await cri.runtime.version(Runtime_V1_VersionRequest(), options: cri.options)
                }) != nil
            { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        let exited = exitStatus.map { "exited with \($0); " } ?? ""
        throw NotServing(log: exited + (await stopAndCollectLog()))
    }

    /// Sends `signal` and waits (bounded) for the daemon to exit; returns its exit status. The wait
    /// sleeps instead of blocking its thread: a graceful stop lets the daemon's open connections
    /// close first, and closing this process's clients needs the cooperative pool, which blocked
    /// waits in two concurrent tests would take whole.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async -> Int32 {
        if isRunning { kill(pid, signal) }
        for _ in 0..<2000 where isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        if isRunning {
            kill(pid, SIGKILL)
            for _ in 0..<500 where isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        }
        return exitStatus ?? -1
    }

    /// Everything the daemon has logged so far.
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Stops the daemon and returns everything it logged.
    func stopAndCollectLog() async -> String {
        await stop()
        return log
    }

    func withClient<T: Sendable>(_ body: (CRIClient) async throws -> T) async throws -> T {
        try await CRIClient.with(endpoint: endpoint, timeout: .seconds(10), body)
    }
}
