import Foundation
import LinuxKit
import ImageFixtures
import Testing

/// skiffctl's image commands against a live skiffd and the fixture registry, in crictl's formats.
@Suite(.serialized, .enabled(if: getuid() == 0, "unpacking layers sets owners and device nodes"))
struct SkiffctlImageTests {
    /// Off the cooperative pool: a pull takes a while, and a blocked pool thread stalls other tests.
    func skiffctl(_ daemon: DaemonHarness, _ args: [String]) async throws -> CommandResult {
        let (socket, config) = (daemon.socket, daemon.dir + "/none.yaml")
        return try await OffPool.run {
            try runCommand(Binaries.path("skiffctl"), ["-r", "unix://" + socket] + args, environment: ["CRI_CONFIG_FILE": config], timeout: 120)
        }
    }

    func padded(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: width - s.count) }

    @Test func pullListInspectAndRemove() async throws {
        let registry = try await TestRegistry.start(auth: "htpasswd")
        let daemon = try await DaemonHarness()
        let busybox = "\(registry.host)/busybox"
        let id = TestImages.digest("busybox", "config")

        let refused = try await skiffctl(daemon, ["pull", "--creds", "skiff:wrong", busybox])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("pulling image: rpc error: code = Unauthenticated desc = "), "\(refused.stderr)")
        let pulled = try await skiffctl(daemon, ["pull", "--creds", "skiff:secret", busybox])
        #expect(pulled.stdout == "Image is up to date for \(id)\n", "\(pulled.stderr)")
        let auth = Data("skiff:secret".utf8).base64EncodedString()
        let arm = try await skiffctl(daemon, ["pull", "--auth", auth, "--platform", "linux/arm/v7", "\(registry.host)/multiarch"])
        #expect(arm.stdout == "Image is up to date for \(TestImages.digest("multiarch", "config", platform: "linux/arm/v7"))\n", "\(arm.stderr)")

        let table = try await skiffctl(daemon, ["images"])
        let lines = table.stdout.split(separator: "\n").map(String.init)
        // crictl's tabwriter: columns as wide as their widest cell plus 3, at least 20.
        let width = max(20, "\(registry.host)/multiarch".count + 3)
        #expect(lines.first == padded("IMAGE", width) + padded("TAG", 20) + padded("IMAGE ID", 20) + "SIZE", "\(table.stdout)")
        let short = String(id.dropFirst(7).prefix(13))
        #expect(lines.contains(padded(busybox, width) + padded("latest", 20) + padded(short, 20) + "1.03MB"), "\(table.stdout)")
        #expect(try await skiffctl(daemon, ["images", "-q", busybox]).stdout == id + "\n")
        let digests = try await skiffctl(daemon, ["images", "--digests", busybox]).stdout
        #expect(digests.contains(String(TestImages.digest("busybox", "manifest").dropFirst(7).prefix(13))))

        let inspect = try await skiffctl(daemon, ["inspecti", "-o", "table", busybox])
        #expect(inspect.stdout.hasPrefix("ID: \(id)\nTag: \(busybox):latest\nDigest: \(busybox)@\(TestImages.digest("busybox", "manifest"))\nSize: 1.03MB\n"),
                "\(inspect.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(try await skiffctl(daemon, ["inspecti", busybox]).stdout.utf8)) as? [String: Any]
        #expect((json?["status"] as? [String: Any])?["id"] as? String == id)
        #expect(json?["info"] is [String: Any])

        let removed = try await skiffctl(daemon, ["rmi", busybox])
        #expect(removed.stdout == "Deleted: \(busybox):latest\n", "\(removed.stderr)")
        let again = try await skiffctl(daemon, ["rmi", busybox])
        #expect(again.status != 0 && again.stderr.contains("no such image"), "\(again.stderr)")
        let pruned = try await skiffctl(daemon, ["rmi", "--prune"])
        // Pulled for another platform, it took no tag: crictl then prints its digest reference.
        #expect(pruned.stdout == "Deleted: \(registry.host)/multiarch@\(TestImages.digest("multiarch", "index"))\n", "\(pruned.stderr)")
        #expect(try await skiffctl(daemon, ["images", "-q"]).stdout == "")
        // Nothing is left on disk either: RemoveImage collects the blobs and snapshots.
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").isEmpty)
    }
}
