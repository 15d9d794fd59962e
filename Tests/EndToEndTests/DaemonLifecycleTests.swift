import CRIAPI
import Foundation
import Glibc
import LinuxKit
import Testing

/// The daemon as an operator sees it: its socket, its signals, its configuration errors.
@Suite struct DaemonLifecycleTests {
    @Test func theSocketIsGroupReadableOnlyAndRemovedOnSIGTERM() async throws {
        let daemon = try await DaemonHarness()
        var st = stat()
        #expect(lstat(daemon.socket, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        #expect(await daemon.stop(signal: SIGTERM) == 0, "\(daemon.log)")
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
    }

    @Test func sigintAlsoStopsGracefully() async throws {
        let daemon = try await DaemonHarness()
        #expect(await daemon.stop(signal: SIGINT) == 0, "\(daemon.log)")
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
    }

    @Test func aSecondDaemonOnTheSameSocketIsRefusedAndTheFirstKeepsServing() async throws {
        let daemon = try await DaemonHarness()
        let second = try runCommand(Binaries.path("skiffd"), ["--config", daemon.configFile, "--root", daemon.root, "--state", daemon.state], timeout: 20)
        #expect(second.status != 0)
        #expect(second.stderr.contains("another skiffd is already serving \(daemon.socket)"), "\(second.stderr)")
        let reply = try await daemon.withClient { cri in
            try await cri.runtime.version(Runtime_V1_VersionRequest(), options: cri.options)
        }
        #expect(reply.runtimeName == "skiff")
    }

    @Test func aStaleSocketLeftByAKilledDaemonIsReplaced() async throws {
        let first = try await DaemonHarness()
        await first.stop(signal: SIGKILL)
        #expect(FileManager.default.fileExists(atPath: first.socket))
        let second = try await DaemonHarness(socket: first.socket)
        let reply = try await second.withClient { cri in
            try await cri.runtime.version(Runtime_V1_VersionRequest(), options: cri.options)
        }
        #expect(reply.runtimeName == "skiff")
    }

    @Test func readyIsSentToTheNotifySocket() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-notify-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/notify"
        let fd = try UnixSocket.bound(path: path, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        let daemon = try await DaemonHarness(environment: ["NOTIFY_SOCKET": path])
        var buffer = [UInt8](repeating: 0, count: 512)
        var message = ""
        for _ in 0..<100 where message.isEmpty {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { message = String(decoding: buffer.prefix(n), as: UTF8.self) } else { usleep(20_000) }
        }
        #expect(message.hasPrefix("READY=1\n"), "got '\(message)'")
        #expect(message.contains(daemon.socket))
    }

    @Test func aBadConfigFileStopsStartupWithFileLineAndKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-badcfg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[grpc]\nsockt = \"/x\"\n".write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        let result = try runCommand(Binaries.path("skiffd"), ["--config", dir + "/config.toml", "--state", dir + "/state"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(dir)/config.toml:2: unknown key 'grpc.sockt'"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/state/skiff.sock"))
    }

    @Test func configDefaultAndDumpPrintLoadableFiles() throws {
        let defaults = try runCommand(Binaries.path("skiffd"), ["config", "default"])
        #expect(defaults.status == 0)
        #expect(defaults.stdout.contains("root = \"/var/lib/skiff\""))
        #expect(defaults.stdout.contains("[cni]\n"))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-dump-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/config.d", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try defaults.stdout.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        try "log_level = \"debug\"\n".write(toFile: dir + "/config.d/50-debug.toml", atomically: true, encoding: .utf8)
        let dump = try runCommand(Binaries.path("skiffd"), ["config", "dump", "--config", dir + "/config.toml", "--root", "/srv/skiff"])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains("root = \"/srv/skiff\""))
        #expect(dump.stdout.contains("log_level = \"debug\""))

        let relative = try runCommand(Binaries.path("skiffd"), ["config", "dump", "--root", "relative"])
        #expect(relative.status != 0)
        #expect(relative.stderr.contains("--root: expected an absolute path"))
    }
}
