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

/// One skiffd on a private socket, root and state under a temporary directory.
final class DaemonHarness: @unchecked Sendable {
    let dir: String
    let process = Process()
    private let stderrPipe = Pipe()

    var root: String { dir + "/root" }
    var state: String { dir + "/state" }
    let socket: String
    var endpoint: CRIEndpoint { try! CRIEndpoint(socket) }
    var configFile: String { dir + "/etc/config.toml" }
    var cniDir: String { dir + "/net.d" }

    /// Starts skiffd and waits until it answers `Version`.
    init(config: String = "", environment: [String: String] = [:], socket: String? = nil) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-e2e-\(UUID().uuidString.prefix(8))").path
        self.socket = socket ?? dir + "/state/skiff.sock"
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: cniDir, withIntermediateDirectories: true)
        try ("[cni]\nconf_dir = \"\(cniDir)\"\n" + config).write(toFile: configFile, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Binaries.path("skiffd"))
        process.arguments = ["--config", configFile, "--root", root, "--state", state, "--socket", self.socket]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardError = stderrPipe
        try process.run()
        try await waitUntilServing()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    struct NotServing: Error, CustomStringConvertible {
        let log: String
        var description: String { "skiffd did not start serving: \(log)" }
    }

    private func waitUntilServing() async throws {
        for _ in 0..<200 {
            guard process.isRunning else { break }
            if FileManager.default.fileExists(atPath: socket),
                (try? await CRIClient.with(endpoint: endpoint, timeout: .seconds(2)) { cri in
                    try await cri.runtime.version(Runtime_V1_VersionRequest(), options: cri.options)
                }) != nil
            { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NotServing(log: stopAndCollectLog())
    }

    /// Sends `signal` and waits (bounded) for the daemon to exit; returns its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Stops the daemon and returns everything it logged.
    func stopAndCollectLog() -> String {
        stop()
        let data = (try? stderrPipe.fileHandleForReading.readToEnd()) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func withClient<T: Sendable>(_ body: (CRIClient) async throws -> T) async throws -> T {
        try await CRIClient.with(endpoint: endpoint, timeout: .seconds(10), body)
    }
}
