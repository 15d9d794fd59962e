#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONCoding
import LinuxKit
import OCI
import SpecBuilder

// The calls on a running container: ExecSync, UpdateContainerResources, ReopenContainerLog.
extension Containers {
    /// UpdateContainerResources: the runtime's `update` with the new limits (runc's `-r` JSON).
    public func update(_ id: String, resources: ContainerInput.Resources) async throws {
        try PodSandboxes.require(id, field: "container_id")
        try await exclusive(id) {
            let record = try current(id)
            guard record.state == .running || record.state == .created else {
                throw PodManagerError.wrongState("container \(id) is \(record.state.rawValue)")
            }
            let limits: RuntimeSpec.Resources
            do { limits = try SpecBuilder.resources(applicable(resources, container: record.name)) } catch {
                throw PodManagerError.invalidArgument(field: "linux", reason: (error as? SpecError)?.description ?? "\(error)")
            }
            let file = volatile(record.id) + "/resources.json"
            try AtomicFile.write(JSONEncoding.encode(limits), to: file, mode: 0o600, durable: false)
            defer { unlink(file) }
            try await runtime(["update", "-r", file, record.id], for: record)
        }
    }

    /// What ExecSync answers: the output (each stream at most `execOutputLimit` bytes) and code.
    public struct ExecResult: Sendable {
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var exitCode: Int32
    }

    /// The most of each stream ExecSync returns: probes need a few KiB, and a runaway command must
    /// not fill the daemon's memory (CRI-O caps at 16 MiB too).
    public static let execOutputLimit = 16 << 20

    /// ExecSync: `cmd` in every namespace, the cgroup and the security settings of the container
    /// (the runtime's exec does that). At the deadline the process itself is killed, not only the
    /// runtime call, and the caller gets DEADLINE_EXCEEDED.
    public func execSync(_ id: String, cmd: [String], timeout: Int64) async throws -> ExecResult {
        try PodSandboxes.require(id, field: "container_id")
        guard !cmd.isEmpty, cmd.allSatisfy({ !$0.utf8.contains(0) }) else {
            throw PodManagerError.invalidArgument(field: "cmd", reason: "a program is required, without NUL bytes")
        }
        guard timeout >= 0 else { throw PodManagerError.invalidArgument(field: "timeout", reason: "must not be negative") }
        let record = try current(id)
        guard record.state == .running else { throw PodManagerError.wrongState("container \(id) is not running") }
        let pidFile = volatile(record.id) + "/exec-\(PodSandboxes.newID().prefix(12)).pid"
        let ((skiff, root), containerID) = (try runtimeOf(record), record.id)
        let seconds = timeout == 0 ? Double(Int32.max) : Double(timeout)
        let outcome = try await OffPool.run {
            defer { unlink(pidFile) }
            // The process is killed while the runtime's exec still waits for it, so the exec reaps
            // it: killed after its parent, it would be an orphan of the host's init, a zombie
            // that the container's own `pgrep` still sees. On a slow node the exec may not have
            // started it yet at the deadline: its pid file is awaited a few seconds.
            return try ChildProcess.run(skiff, ["--root", root, "exec", "--pid-file", pidFile, containerID] + cmd,
                                        timeout: seconds, outputLimit: Self.execOutputLimit) {
                let giveUp = WallClock.monotonicMilliseconds() + 5000
                while WallClock.monotonicMilliseconds() < giveUp {
                    if let text = try? AtomicFile.read(pidFile, limit: 64),
                       let pid = Int32(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
                        kill(pid, SIGKILL)
                        return
                    }
                    usleep(10_000)
                }
            }
        }
        if outcome.timedOut { throw PodManagerError.timeout("command timed out after \(timeout) s") }
        return ExecResult(stdout: outcome.stdoutBytes, stderr: outcome.stderrBytes, exitCode: outcome.status)
    }

    /// ReopenContainerLog: after the kubelet renamed the log for rotation, the monitor opens the
    /// path again (SIGHUP); the call returns once the new file exists.
    public func reopenLog(_ id: String) async throws {
        try PodSandboxes.require(id, field: "container_id")
        let record = try current(id)
        guard record.state == .running else { throw PodManagerError.wrongState("container \(id) is not running") }
        guard !record.logPath.isEmpty else { return }
        guard record.monitorPID > 0, ContainerMonitor.monitorPID(directory: volatile(record.id)) == record.monitorPID,
              kill(record.monitorPID, SIGHUP) == 0 else {
            throw PodManagerError.wrongState("the monitor of container \(id) is gone")
        }
        for _ in 0..<100 where !FileSystem.exists(record.logPath) { try await Task.sleep(for: .milliseconds(10)) }
        guard FileSystem.exists(record.logPath) else {
            throw PodManagerError.runtimeFailed(operation: "reopen log", message: "\(record.logPath) was not opened again")
        }
    }
}
