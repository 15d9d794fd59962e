import Foundation
import Glibc
import LinuxKit

/// The test images, built once per test run by Tests/Fixtures/images/build-images.py, and what
/// their digests are (digests.json), so tests predict image ids instead of hard-coding them.
public enum TestImages {
    public static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images").path

    public static let layouts: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-images-\(getpid())").path
        _ = try? ChildProcess.run("/usr/bin/python3", [fixtures + "/build-images.py", dir], timeout: 300)
        return dir
    }()

    nonisolated(unsafe) public static let digests: [String: Any] = {
        guard let data = FileManager.default.contents(atPath: layouts + "/digests.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return json
    }()

    /// `digests[image][key]`, or for an index `digests[image]["manifests"][platform][key]`.
    public static func digest(_ image: String, _ key: String, platform: String? = nil) -> String {
        var entry = digests[image] as? [String: Any]
        if let platform { entry = (entry?["manifests"] as? [String: Any])?[platform] as? [String: Any] }
        return entry?[key] as? String ?? "missing \(image) \(key)"
    }
}

/// Debian's docker-registry on 127.0.0.1, private to one test, with the test images pushed.
public final class TestRegistry: @unchecked Sendable {
    public let dir: String
    public let port: Int
    public var host: String { "127.0.0.1:\(port)" }
    /// The CA that signed the server certificate of a registry started with `tls`.
    public var caPath: String { dir + "/tls/ca.crt" }
    /// The registry's access log (one line per request, with its status).
    public var logPath: String { dir + "/registry.log" }

    struct Failure: Error, CustomStringConvertible { let description: String }

    public init(auth: String? = nil, tls: Bool = false) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var started: (port: Int, output: String)?
        var lastError = ""
        // A random port; the script refuses one that already answers, so retry a few.
        for _ in 0..<5 where started == nil {
            let port = Int.random(in: 20000..<40000)
            let result = try ChildProcess.run(TestImages.fixtures + "/registry.sh",
                                              ["start", dir, "\(port)"] + (auth.map { ["--auth", $0] } ?? []) + (tls ? ["--tls"] : []),
                                              timeout: 60)
            if result.status == 0 { started = (port, result.stdout) } else { lastError = result.stderr }
        }
        guard let started else { throw Failure(description: "registry did not start: \(lastError)") }
        port = started.port
        let push = try ChildProcess.run(TestImages.fixtures + "/push-images.sh",
                                        [TestImages.layouts, host] + (auth == nil ? [] : ["skiff:secret"]), timeout: 120)
        guard push.status == 0 else {
            stop()
            throw Failure(description: "push failed: \(push.stderr)")
        }
    }

    /// Starts one without blocking the test's cooperative thread (building the images, starting
    /// the registry and pushing take seconds; blocked pool threads starve every other test).
    public static func start(auth: String? = nil, tls: Bool = false) async throws -> TestRegistry {
        try await OffPool.run { try TestRegistry(auth: auth, tls: tls) }
    }

    public func stop() {
        _ = try? ChildProcess.run(TestImages.fixtures + "/registry.sh", ["stop", dir], timeout: 30)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
