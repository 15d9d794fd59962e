import CRIAPI
import Foundation
import GRPCCore
import LinuxKit
import Testing

/// The streaming server's edges: port-forward to a server in a pod, a terminal resized by its
/// client, streams at once, a client that vanishes mid-stream (nothing left behind), the cap on
/// connections and the idle timeout.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct StreamingLimitsTests {
    static let config = "[stream]\nmax_streams = 6\nidle_timeout = 3\n"

    @Test func portForwardResizeConcurrencyAndNothingLeftByAVanishedClient() async throws {
        let node = try await ContainerTests.Node(config: Self.config)
        let port = UInt16.random(in: 20000...40000)
        let id = try await node.create("web", "echo forwarded-body > /index.html; exec /bin/busybox httpd -f -p 127.0.0.1:\(port) -h /")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let pod = node.pod
        func exec(_ cmd: [String], tty: Bool = false) async throws -> String {
            try await node.daemon.withClient {
                try await $0.runtime.exec(.with { $0.containerID = id; $0.cmd = cmd; $0.stdout = true; $0.stderr = !tty; $0.tty = tty }, options: $0.options).url
            }
        }
        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }

        // The pod's server, reached through the forward (retried while httpd starts).
        var forwarded = ""
        for _ in 0..<50 where !forwarded.contains("forwarded-body") {
            let url = try await node.daemon.withClient { try await $0.runtime.portForward(.with { $0.podSandboxID = pod }, options: $0.options).url }
            let result = try StreamTestClient(url: url).portForward(port: port, request: Array("GET /index.html HTTP/1.0\r\n\r\n".utf8))
            forwarded = text(result.data)
            if !forwarded.contains("forwarded-body") { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(forwarded.hasPrefix("HTTP/1.") && forwarded.contains("forwarded-body"), "\(forwarded)")
        // A port nothing listens on: the error stream says why.
        let closedURL = try await node.daemon.withClient { try await $0.runtime.portForward(.with { $0.podSandboxID = pod }, options: $0.options).url }
        let refused = try StreamTestClient(url: closedURL).portForward(port: 1, request: [])
        #expect(text(refused.error).contains("error forwarding port 1"), "\(text(refused.error))")

        // A terminal sized by the client's resize stream before the command looks.
        let sized = try StreamTestClient(url: try await exec(["/bin/sh", "-c", "sleep 0.5; stty size"], tty: true)).webSocket(resize: #"{"Width":123,"Height":45}"#)
        #expect(text(sized.stdout).contains("45 123"), "\(text(sized.stdout))")

        // Streams at once, each with its own output.
        let urls = try await (0..<4).asyncMap { try await exec(["/bin/sh", "-c", "sleep 0.3; echo stream-\($0)"]) }
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for url in urls { group.addTask { String(decoding: try StreamTestClient(url: url).webSocket().stdout, as: UTF8.self) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outputs.sorted() == (0..<4).map { "stream-\($0)\n" })

        // A client that vanishes: its process is killed and skiffd's descriptors come back.
        let pid = node.daemon.processID
        func openFiles() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).map {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "?"
            }.sorted()
        }
        let before = openFiles()
        let baseline = before.count
        try StreamTestClient(url: try await exec(["/bin/sleep", "4242"])).abandon(spdy: false)
        try StreamTestClient(url: try await exec(["/bin/sleep", "4343"])).abandon(spdy: true)
        var left = "", descriptors = 0
        for _ in 0..<100 {
            let ps = try await node.daemon.withClient { try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = ["/bin/ps"]; $0.timeout = 10 }, options: $0.options) }
            left = text(Array(ps.stdout)).split(separator: "\n").filter { $0.contains("4242") || $0.contains("4343") }.joined(separator: "\n")
            descriptors = ProcessUsage(pid: node.daemon.processID).descriptors
            if left.isEmpty, descriptors <= baseline { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(left.isEmpty, "still running: \(left)")
        #expect(descriptors <= baseline, "\(descriptors) descriptors, \(baseline) before: \(before) now \(openFiles())")
    }

    @Test func theConnectionCapAndTheIdleTimeout() async throws {
        let node = try await ContainerTests.Node(config: Self.config)
        let id = try await node.create("idle", "exec sleep 600")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let url = try await node.daemon.withClient {
            try await $0.runtime.exec(.with { $0.containerID = id; $0.cmd = ["/bin/sleep", "600"]; $0.stdout = true }, options: $0.options).url
        }
        // Six connections held open (the cap), the seventh gets 429.
        let base = url.components(separatedBy: "/exec/")[0]
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<6 { held.append(try StreamTestClient.openConnection(base)) }
        try await Task.sleep(for: .milliseconds(200))
        let refused = try StreamTestClient(url: base + "/exec/whatever").webSocket()
        #expect(refused.status == 429, "\(refused.responseHead)")
        held.forEach { close($0) }
        held.removeAll()
        // A stream with no traffic either way ends after idle_timeout (3 s), its process with it.
        // (Until the server has seen the held connections close, it may still answer 429: the
        // token is only spent by an admitted connection.)
        var idle = StreamTestClient.Result(), seconds = 0.0
        for _ in 0..<50 {
            let started = Date()
            idle = try StreamTestClient(url: url).webSocket()
            seconds = Date().timeIntervalSince(started)
            if idle.status != 429 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(idle.status == 101 && seconds >= 2.5 && seconds < 20, "\(idle.status) after \(seconds) s")
    }
}

extension StreamingLimitsTests {
    /// With a certificate the server speaks HTTPS: the URL says so and curl (not verifying the
    /// self-signed certificate) gets the server's own 404 for a token it does not know.
    @Test func withACertificateTheServerSpeaksHTTPS() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try runCommand("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                       "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"])
        #expect(made.status == 0, "\(made.stderr)")
        let node = try await ContainerTests.Node(config: "[stream]\ntls_cert = \"\(dir)/cert.pem\"\ntls_key = \"\(dir)/key.pem\"\n")
        let id = try await node.create("tls", "exec sleep 600")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let url = try await node.daemon.withClient {
            try await $0.runtime.exec(.with { $0.containerID = id; $0.cmd = ["/bin/true"]; $0.stdout = true }, options: $0.options).url
        }
        #expect(url.hasPrefix("https://127.0.0.1:"), "\(url)")
        let unknown = url.components(separatedBy: "/exec/")[0] + "/exec/unknown0"
        let answer = try runCommand("/usr/bin/curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", unknown])
        #expect(answer.stdout == "404", "\(answer.stdout) \(answer.stderr)")
    }
}

extension StreamingLimitsTests {
    /// Hostile bytes after the upgrade, on either protocol (random, and valid headers with random
    /// bodies): each connection ends, the daemon stays the same process and still streams.
    @Test func garbageAfterTheUpgradeNeverHurtsTheDaemon() async throws {
        let node = try await ContainerTests.Node()
        let id = try await node.create("fuzzed", "exec sleep 600")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        func url() async throws -> String {
            try await node.daemon.withClient {
                try await $0.runtime.exec(.with { $0.containerID = id; $0.cmd = ["/bin/cat"]; $0.stdin = true; $0.stdout = true }, options: $0.options).url
            }
        }
        let seed = UInt64.random(in: 1...UInt64.max)
        var random = SeededRandom(state: seed)
        for round in 0..<24 {
            var garbage = (0..<Int.random(in: 1...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            switch round % 3 {
            case 1: garbage = [0x80, 0x03, 0x00, UInt8.random(in: 0...12, using: &random), 0, 0, 0, UInt8(min(garbage.count, 255))] + garbage
            case 2: garbage = [0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4] + garbage
            default: break
            }
            _ = try StreamTestClient(url: try await url()).sendAfterUpgrade(spdy: round % 2 == 0, garbage)
        }
        #expect(node.daemon.isRunning, "seed \(seed)")
        let echoed = try StreamTestClient(url: try await url()).webSocket(stdin: Array("still streaming".utf8))
        #expect(String(decoding: echoed.stdout, as: UTF8.self) == "still streaming", "seed \(seed)")
    }
}

extension SeededRandom: RandomNumberGenerator {
    mutating func next() -> UInt64 { nextUInt64() }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
