import Foundation
import Glibc
import OCI
import Testing
import LinuxKit

/// One OCI runtime under test: ours, and runc as the reference that proves the tests.
struct RuntimeUnderTest: CustomStringConvertible, Sendable {
    let name: String
    let path: String
    var description: String { name }

    static let skiff = RuntimeUnderTest(name: "skiff", path: Binaries.directory + "/skiff")

    /// Both runtimes where runc is installed, else just skiff.
    static let all: [RuntimeUnderTest] = {
        let candidates: [String] = ["/usr/sbin/runc", "/usr/bin/runc"]
        let runc = candidates.first { access($0, X_OK) == 0 }
        return [skiff] + (runc.map { [RuntimeUnderTest(name: "runc", path: $0)] } ?? [])
    }()
}

enum Binaries {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["SKIFF_BIN_DIR"] { return dir }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()
}

/// These tests create namespaces and mounts: they need root.
let isRoot = getuid() == 0

struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Values of every "key value" line with this key.
    func values(_ key: String) -> [String] {
        stdout.split(separator: "\n").compactMap { line in
            line.hasPrefix(key + " ") ? String(line.dropFirst(key.count + 1)) : nil
        }
    }

    func value(_ key: String) -> String? { values(key).first }
}

/// A bundle in a private temporary directory: a rootfs with busybox and the probe, and a config.json
/// that starts from `skiff spec`'s default.
final class Bundle: @unchecked Sendable {
    let dir: String
    let id: String
    var spec: RuntimeSpec
    let stateRoot: String

    var rootfs: String { dir + "/rootfs" }

    init(args: [String] = ["/probe"]) throws {
        id = "t-" + UUID().uuidString.prefix(12).lowercased()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-bundle-\(id)").path
        stateRoot = dir + "/state"
        try FileManager.default.createDirectory(atPath: dir + "/rootfs", withIntermediateDirectories: true)
        try RootfsTemplate.copy(into: dir + "/rootfs")
        spec = RuntimeSpec.defaultSpec()
        spec.process?.args = args
        spec.process?.env = ["PATH=/bin", "HOME=/"]
        // runc on this host places containers in v1 cgroups too: an absolute path keeps them out of
        // the shell's own cgroups. One level, no shared parent: a test removing an empty shared
        // parent raced runc creating its child under it in another test.
        spec.linux?.cgroupsPath = Self.cgroupsPath(id)
        spec.mounts?.append(RuntimeSpec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]))
    }

    deinit {
        for runtime in RuntimeUnderTest.all {
            _ = try? run(runtime, ["delete", "--force", id])
        }
        try? FileManager.default.removeItem(atPath: dir)
        // What a failed create may have left (delete removes it otherwise).
        for controller in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            rmdir("/sys/fs/cgroup/\(controller)" + Self.cgroupsPath(id))
        }
    }

    static func cgroupsPath(_ id: String) -> String { "/skiff-test-" + id }

    func writeSpec() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        try encoder.encode(spec).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }

    /// `runtime --root <state> <args>` with a time bound.
    func run(_ runtime: RuntimeUnderTest, _ args: [String], timeout: Double = 30) throws -> Outcome {
        try runProcess(runtime.path, ["--root", stateRoot] + args, timeout: timeout)
    }

    /// Runs a runtime command whose container outlives it: the container gets /dev/null as stdio
    /// so the command's pipes close when the command returns.
    func detached(_ runtime: RuntimeUnderTest, _ args: [String]) throws -> Outcome {
        // Errors go to a file: a pipe would stay open in the container and never reach EOF.
        let errors = dir + "/stderr-\(UUID().uuidString.prefix(6))"
        var out = try runProcess("/bin/sh", ["-c", "r=\"$0\"; root=\"$1\"; err=\"$2\"; shift 2; exec \"$r\" --root \"$root\" \"$@\" </dev/null >/dev/null 2>\"$err\"",
                                             runtime.path, stateRoot, errors] + args)
        out.stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        return out
    }

    /// Writes config.json and runs the container in the foreground.
    func runContainer(_ runtime: RuntimeUnderTest) throws -> Outcome {
        try writeSpec()
        return try run(runtime, ["run", "--bundle", dir, id])
    }
}

/// The rootfs every bundle copies: busybox-static and the probe, built once per test run.
enum RootfsTemplate {
    static let path: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-rootfs-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/probe.c").path
        _ = try? runProcess("/usr/bin/cc", ["-static", "-O2", "-o", dir + "/probe", source])
        _ = try? FileManager.default.copyItem(atPath: "/bin/busybox", toPath: dir + "/bin/busybox")
        for applet in ["sh", "cat", "ls", "echo", "sleep", "mkdir", "id", "true"] {
            try? FileManager.default.createSymbolicLink(atPath: dir + "/bin/" + applet, withDestinationPath: "busybox")
        }
        return dir
    }()

    static func copy(into target: String) throws {
        let result = try runProcess("/bin/cp", ["-a", path + "/.", target])
        guard result.status == 0, FileManager.default.fileExists(atPath: target + "/probe") else {
            throw FixtureError(message: "rootfs template incomplete (is busybox-static installed and cc available?) \(result.stderr)")
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

func runProcess(_ path: String, _ args: [String], timeout: Double = 60) throws -> Outcome {
    let result = try ChildProcess.run(path, args, timeout: timeout)
    return Outcome(status: result.status, stdout: result.stdout, stderr: result.stderr)
}
