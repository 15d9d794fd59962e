#if canImport(Glibc)
import Glibc
#endif
import CShims
import CTerminal
import Foundation
import LinuxKit

/// The process end of a streaming exec: descriptors the caller now owns (pipes, or the terminal's
/// master for both directions) and the runtime's exec process, which exits with the command.
public struct StreamingExec: Sendable {
    public var stdin: Int32?
    public var stdout: Int32?
    public var stderr: Int32?
    public var terminal: Int32?
    public var runtimePID: Int32
    /// Where the runtime wrote the command's own pid, for a kill when the client goes away.
    public var pidFile: String
}

extension Containers {
    /// The full id of a running container (Exec and Attach hand out URLs only for those).
    public func runningID(_ id: String) throws -> String {
        try PodSandboxes.require(id, field: "container_id")
        let record = try current(id)
        guard record.state == .running else { throw PodManagerError.wrongState("container \(id) is not running") }
        return record.id
    }

    /// Exec for the streaming server: the runtime's `exec` in the foreground (it exits with the
    /// command's status), with pipes for the asked streams, or with `--tty` and a console socket
    /// on which it hands over the terminal's master, allocated inside the container.
    public func startExec(_ id: String, cmd: [String], tty: Bool, stdin: Bool) async throws -> StreamingExec {
        try PodSandboxes.require(id, field: "container_id")
        guard !cmd.isEmpty, cmd.allSatisfy({ !$0.utf8.contains(0) }) else {
            throw PodManagerError.invalidArgument(field: "cmd", reason: "a program is required, without NUL bytes")
        }
        let record = try current(id)
        guard record.state == .running else { throw PodManagerError.wrongState("container \(id) is not running") }
        let (skiff, root) = try runtimeOf(record)
        let name = "exec-" + PodSandboxes.newID().prefix(12)
        let pidFile = volatile(record.id) + "/\(name).pid"
        let containerID = record.id
        return try await OffPool.run {
            if tty { return try Self.startTerminalExec(skiff, root, containerID, cmd, pidFile: pidFile, socket: "/tmp/skiff-\(name).sock") }
            var fds: [Int32] = []
            func pipePair() throws -> (read: Int32, write: Int32) {
                var pair: [Int32] = [0, 0]
                guard cs_pipe_cloexec(&pair) == 0 else { throw SystemError("pipe2") }
                fds += pair
                return (pair[0], pair[1])
            }
            do {
                let input = stdin ? try pipePair() : nil
                let output = try pipePair(), errors = try pipePair()
                let pid = try ChildProcess.spawn(skiff, ["--root", root, "exec", "--pid-file", pidFile, containerID] + cmd,
                                                 stdin: input?.read ?? -1, stdout: output.write, stderr: errors.write)
                for fd in [input?.read, output.write, errors.write].compactMap({ $0 }) { close(fd) }
                return StreamingExec(stdin: input?.write, stdout: output.read, stderr: errors.read, runtimePID: pid, pidFile: pidFile)
            } catch {
                fds.forEach { close($0) }
                throw error
            }
        }
    }

    /// The terminal's master comes over a unix socket the runtime connects to (runc's protocol).
    /// The socket lives briefly in /tmp: its path must fit sun_path, which a deep state directory may not.
    private static func startTerminalExec(_ skiff: String, _ root: String, _ id: String, _ cmd: [String], pidFile: String, socket: String) throws -> StreamingExec {
        let listener = try UnixListener.listen(path: socket, mode: 0o600, gid: nil, backlog: 1)
        defer { close(listener); unlink(socket) }
        let pid = try ChildProcess.spawn(skiff, ["--root", root, "exec", "--tty", "--console-socket", socket, "--pid-file", pidFile, id] + cmd,
                                         stdin: -1, stdout: -1, stderr: -1)
        var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        // The runtime connects as soon as the terminal exists; a runtime that failed never does.
        guard poll(&ready, 1, 30_000) == 1 else {
            kill(pid, SIGKILL)
            _ = ChildProcess.waitExit(pid)
            throw PodManagerError.runtimeFailed(operation: "exec", message: "the runtime sent no terminal")
        }
        // The listener is CLOEXEC and so is what recvmsg brings; the connection lives only here.
        let connection = accept(listener, nil, nil)
        if connection >= 0 { _ = fcntl(connection, F_SETFD, FD_CLOEXEC) }
        defer { if connection >= 0 { close(connection) } }
        let master = connection >= 0 ? cs_recv_fd(connection) : -1
        guard master >= 0 else {
            kill(pid, SIGKILL)
            _ = ChildProcess.waitExit(pid)
            throw PodManagerError.runtimeFailed(operation: "exec", message: "no terminal came over the console socket")
        }
        return StreamingExec(terminal: master, runtimePID: pid, pidFile: pidFile)
    }

    /// Attach: a connection to the container's monitor, which relays its output and its stdin
    /// (framed as `CShims/monitor/attach.h` describes).
    public func attach(_ id: String) throws -> Int32 {
        let id = try runningID(id)
        let path = ContainerMonitor.Request.attachSocket(directory: volatile(id))
        guard FileSystem.exists(path) else {
            throw PodManagerError.wrongState("container \(id) was created by a skiffd without attach: it cannot be attached to")
        }
        // Through the directory's descriptor: the full path may not fit a socket address.
        let directory = open(volatile(id), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw PodManagerError.wrongState("container \(id) has no volatile directory") }
        defer { close(directory) }
        do {
            return try UnixSocket.connect(path: "/proc/self/fd/\(directory)/attach.sock")
        } catch {
            throw PodManagerError.runtimeFailed(operation: "attach", message: "\(error)")
        }
    }

    /// Waits for the runtime's exec (blocking: call off the cooperative pool); removes its pid file.
    public nonisolated static func waitExec(_ exec: StreamingExec) -> Int32 {
        defer { unlink(exec.pidFile) }
        return ChildProcess.waitExit(exec.runtimePID)
    }

    /// The client went away: the command is killed (the runtime's exec then exits and is reaped).
    public nonisolated static func killExec(_ exec: StreamingExec) {
        if let text = try? AtomicFile.read(exec.pidFile, limit: 64),
           let pid = Int32(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
            kill(pid, SIGKILL)
        } else {
            kill(exec.runtimePID, SIGKILL)
        }
    }

    public nonisolated static func resize(_ terminal: Int32, width: UInt16, height: UInt16) {
        _ = ct_set_window_size(terminal, width, height)
    }
}
