import Foundation
import LinuxKit
import PodManager
import Testing

/// skiff-monitor with a real runtime (skiff, and runc to prove the tests): the container's output
/// as CRI log lines, its exit record, a failed create, the descriptors, log rotation, a terminal.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct MonitorTests {
    static let binaries: String = {
        if let dir = ProcessInfo.processInfo.environment["SKIFF_BIN_DIR"] { return dir }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()
    static let runtimes: [String] = [binaries + "/skiff"] + ["/usr/sbin/runc"].filter { access($0, X_OK) == 0 }

    /// A busybox bundle, a volatile directory for the monitor and a log path.
    final class Container: @unchecked Sendable {
        let dir: String
        let id = "m-" + UUID().uuidString.prefix(10).lowercased()
        let monitor: ContainerMonitor
        var request: ContainerMonitor.Request

        init(runtime: String, script: String, terminal: Bool = false) throws {
            try #require(access(MonitorTests.binaries + "/skiff-monitor", X_OK) == 0,
                         "skiff-monitor is not built: `make build` (Scripts/build-monitor.sh) puts it beside the Swift products")
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-monitor-\(id)").path
            let rootfs = dir + "/bundle/rootfs"
            try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
            // Copied by another process: a descriptor open for writing here could reach a concurrent
            // fork of this process, and exec of the copy would then fail with ETXTBSY.
            #expect(try ChildProcess.run("/bin/cp", ["/bin/busybox", rootfs + "/bin/busybox"]).status == 0)
            for applet in ["sh", "echo", "sleep", "head", "tr", "ls", "printf"] {
                try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
            }
            let spec = try ChildProcess.run(MonitorTests.binaries + "/skiff", ["spec", "--bundle", dir + "/bundle"])
            #expect(spec.status == 0, "\(spec.stderr)")
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/bundle/config.json"))) as! [String: Any]
            var process = config["process"] as! [String: Any]
            process["args"] = ["/bin/sh", "-c", script]
            process["terminal"] = terminal
            config["process"] = process
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = "/skiff-monitor-test-\(id)"
            config["linux"] = linux
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/bundle/config.json"))
            monitor = ContainerMonitor(monitorPath: MonitorTests.binaries + "/skiff-monitor", runtimePath: runtime, runtimeRoot: dir + "/state")
            request = .init(id: id, bundle: dir + "/bundle", directory: dir + "/run", logPath: dir + "/container.log", terminal: terminal)
        }

        deinit {
            _ = try? runtime(["delete", "--force", id])
            try? FileManager.default.removeItem(atPath: dir)
        }

        func runtime(_ args: [String]) throws -> ChildProcess.Result {
            try ChildProcess.run(monitor.runtimePath, ["--root", monitor.runtimeRoot] + args)
        }

        func waitForExit(seconds: Double = 20) -> ContainerMonitor.Exit? {
            for _ in 0..<Int(seconds * 20) {
                if let exit = ContainerMonitor.exit(directory: request.directory) { return exit }
                usleep(50_000)
            }
            return nil
        }

        /// (stream, tag, content) of each log line, after checking its timestamp.
        func logLines(_ path: String? = nil) throws -> [(String, String, String)] {
            let text = try String(contentsOfFile: path ?? request.logPath, encoding: .utf8)
            // "\r\n" (a terminal's line end) is one Character: split on both.
            return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropLast().map { line in
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                #expect(parts.count == 4, "\(line.prefix(80))")
                #expect(parts[0].range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$"#, options: .regularExpression) != nil, "\(parts[0])")
                return (parts[safe: 1] ?? "", parts[safe: 2] ?? "", parts[safe: 3] ?? "")
            }
        }
    }

    @Test(arguments: runtimes)
    func outputBecomesCRILogLinesAndTheExitIsRecorded(runtime: String) throws {
        let c = try Container(runtime: runtime, script: """
            echo hello; echo oops >&2; head -c 40000 /dev/zero | tr '\\0' a; echo
            head -c 16384 /dev/zero | tr '\\0' b; echo; printf tail; exit 3
            """)
        let started = try c.monitor.create(c.request)
        #expect(started.pid > 0 && started.monitorPID > 0)
        #expect(try c.runtime(["start", c.id]).status == 0)
        let exit = try #require(c.waitForExit())
        #expect(exit.exitCode == 3 && exit.signal == nil && exit.pid == started.pid)
        let lines = try c.logLines()
        #expect(lines.filter { $0.0 == "stderr" }.map { "\($0.1) \($0.2)" } == ["F oops"])
        let out = lines.filter { $0.0 == "stdout" }.map { "\($0.1) \($0.2.count) \($0.2.prefix(1))" }
        #expect(out == ["F 5 h", "P 16384 a", "P 16384 a", "F 7232 a", "F 16384 b", "F 4 t"])
    }

    @Test(arguments: runtimes)
    func aKilledContainerExitsWith137(runtime: String) throws {
        let c = try Container(runtime: runtime, script: "exec sleep 100")
        _ = try c.monitor.create(c.request)
        #expect(try c.runtime(["start", c.id]).status == 0)
        #expect(try c.runtime(["kill", c.id, "KILL"]).status == 0)
        let exit = try #require(c.waitForExit())
        #expect(exit.exitCode == 137 && exit.signal == 9)
    }

    @Test(arguments: runtimes)
    func aFailedCreateIsReportedWithTheRuntimesMessage(runtime: String) throws {
        let c = try Container(runtime: runtime, script: "true")
        c.request.bundle = c.dir + "/no-such-bundle"
        #expect {
            try c.monitor.create(c.request)
        } throws: { error in
            guard case .runtimeFailed(let operation, let message)? = error as? PodManagerError else { return false }
            return operation == "create" && !message.isEmpty
        }
    }

    @Test(arguments: runtimes)
    func theContainerAndTheMonitorHoldNothingOfTheCaller(runtime: String) throws {
        // A descriptor the caller holds without close-on-exec must reach neither.
        let marker = open(FileManager.default.temporaryDirectory.path + "/skiff-monitor-marker", O_CREAT | O_RDWR, 0o600)
        defer { close(marker) }
        let c = try Container(runtime: runtime, script: "ls /proc/self/fd; sleep 2")
        let started = try c.monitor.create(c.request)
        let held = FileSystem.directoryEntries("/proc/\(started.monitorPID)/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(started.monitorPID)/fd/\($0)")
        }
        #expect(!held.contains { $0.hasSuffix("skiff-monitor-marker") }, "\(held)")
        #expect(try c.runtime(["start", c.id]).status == 0)
        #expect(c.waitForExit()?.exitCode == 0)
        // ls's own directory descriptor is 3: the container holds its stdio and nothing else.
        #expect(try c.logLines().map(\.2) == ["0", "1", "2", "3"])
    }

    @Test(arguments: runtimes)
    func sighupReopensTheLogAfterARename(runtime: String) throws {
        let c = try Container(runtime: runtime, script: "while true; do echo tick; sleep 0.05; done")
        let started = try c.monitor.create(c.request)
        #expect(try c.runtime(["start", c.id]).status == 0)
        usleep(300_000)
        #expect(rename(c.request.logPath, c.request.logPath + ".1") == 0)
        #expect(kill(started.monitorPID, SIGHUP) == 0)
        var reopened = false
        for _ in 0..<100 where !reopened {
            usleep(50_000)
            reopened = ((try? c.logLines()) ?? []).contains { $0.2 == "tick" }
        }
        #expect(reopened, "no lines in the reopened log")
        #expect(try c.logLines(c.request.logPath + ".1").contains { $0.2 == "tick" })
        #expect(try c.runtime(["kill", c.id, "KILL"]).status == 0)
        #expect(c.waitForExit()?.exitCode == 137)
    }

    @Test(arguments: runtimes)
    func aTerminalsOutputIsLoggedAsStdout(runtime: String) throws {
        let c = try Container(runtime: runtime, script: "echo hi from a tty; test -t 1 && echo is a tty", terminal: true)
        _ = try c.monitor.create(c.request)
        #expect(try c.runtime(["start", c.id]).status == 0)
        #expect(c.waitForExit()?.exitCode == 0)
        let lines = try c.logLines()
        #expect(lines.allSatisfy { $0.0 == "stdout" })
        #expect(lines.map { $0.2.trimmingCharacters(in: .whitespacesAndNewlines) } == ["hi from a tty", "is a tty"])
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
