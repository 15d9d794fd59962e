import Foundation
import Glibc
import ImageFixtures
import ImageStore
import OCI
import Testing

/// Removing images: what garbage collection keeps and drops, images in use, other platforms.
@Suite(.serialized, .enabled(if: getuid() == 0, "unpacking sets owners and device nodes"))
struct ImageGarbageTests {
    func manager() -> (ImageManager, ImageStoreLayout, RegistryClient) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-gc-\(UUID().uuidString.prefix(8))").path
        let client = RegistryClient()
        let layout = ImageStoreLayout(root: root)
        return (ImageManager(layout: layout, client: client), layout, client)
    }

    @Test func removingAnImageDropsOnlyWhatNoOtherImageNeeds() async throws {
        let registry = try await TestRegistry.start()
        let (images, layout, client) = manager()
        defer { Task { await client.shutdown() }; try? FileManager.default.removeItem(atPath: layout.root) }
        // withuser is busybox's layer with another config: they share the layer and its snapshot.
        let busybox = try await images.pull("\(registry.host)/busybox")
        let withuser = try await images.pull("\(registry.host)/withuser")
        let shared = Set(busybox.layers.map(\.digest)).intersection(withuser.layers.map(\.digest))
        #expect(!shared.isEmpty)
        let content = ContentStore(root: layout.content)
        let snapshots = Snapshots(root: layout.snapshots)
        // A partial download nobody continues is garbage too.
        try FileManager.default.createDirectory(atPath: layout.content + "/ingest", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: layout.content + "/ingest/\(String(repeating: "a", count: 64)).partial", contents: Data([1]))

        try await images.remove("\(registry.host)/withuser")
        let kept = Set(content.digests())
        #expect(kept == Set([busybox.config.digest] + busybox.layers.map(\.digest)))
        #expect(Set(snapshots.chainIDs()) == Set(busybox.chainIDs))
        #expect(content.partials().isEmpty)

        try await images.remove(busybox.id)
        #expect(content.digests().isEmpty)
        #expect(snapshots.chainIDs().isEmpty)
        #expect(await images.collectGarbage() == GarbageReport())
    }

    @Test func anImageInUseIsNotRemoved() async throws {
        let registry = try await TestRegistry.start()
        let (images, layout, client) = manager()
        defer { Task { await client.shutdown() }; try? FileManager.default.removeItem(atPath: layout.root) }
        let busybox = try await images.pull("\(registry.host)/busybox")
        await images.setUsers { [busybox.id: ["c2", "c1"]] }
        await #expect(throws: ImageError.inUse("\(registry.host)/busybox", containers: ["c1", "c2"])) {
            try await images.remove("\(registry.host)/busybox")
        }
        #expect(await images.status(busybox.id) != nil)
        #expect(ContentStore(root: layout.content).contains(busybox.layers[0]))
        await images.setUsers { [:] }
        try await images.remove("\(registry.host)/busybox")
        #expect(await images.status(busybox.id) == nil)
    }

    @Test func aCollectionAskedForDuringAPullWaitsForIt() async throws {
        let registry = try await TestRegistry.start()
        let (images, layout, client) = manager()
        defer { Task { await client.shutdown() }; try? FileManager.default.removeItem(atPath: layout.root) }
        async let pulled = images.pull("\(registry.host)/layered")
        // Collections during the pull are deferred or run before it; none removes its layers.
        var reports: [GarbageReport] = []
        for _ in 0..<20 {
            reports.append(await images.collectGarbage())
            try await Task.sleep(for: .milliseconds(5))
        }
        let record = try await pulled
        for layer in record.layers { #expect(ContentStore(root: layout.content).contains(layer)) }
        for chainID in record.chainIDs { #expect(Snapshots(root: layout.snapshots).contains(chainID)) }
        #expect(reports.allSatisfy { $0.blobs == 0 && $0.snapshots == 0 })
    }

    @Test func anotherPlatformOfAnIndexCanBeAskedFor() async throws {
        let registry = try await TestRegistry.start()
        let (images, layout, client) = manager()
        defer { Task { await client.shutdown() }; try? FileManager.default.removeItem(atPath: layout.root) }
        let arm = try await images.pull("\(registry.host)/multiarch", platform: try Platform(parsing: "linux/arm/v7"))
        #expect(arm.id == TestImages.digest("multiarch", "config", platform: "linux/arm/v7"))
        // Another platform does not take the tag (pod annotations can ask for one).
        #expect(arm.repoTags.isEmpty)
        #expect(arm.repoDigests == ["\(registry.host)/multiarch@\(TestImages.digest("multiarch", "index"))"])
        let amd = try await images.pull("\(registry.host)/multiarch")
        #expect(amd.id == TestImages.digest("multiarch", "config", platform: "linux/amd64"))
        // One tag names one image: the newest pull has it.
        #expect(await images.status("\(registry.host)/multiarch")?.id == amd.id)
    }
}

/// Pulls that run at the same time.
@Suite(.serialized, .enabled(if: getuid() == 0, "unpacking sets owners and device nodes"))
struct ConcurrentPullTests {
    @Test func twoImagesSharingALayerDownloadItOnce() async throws {
        let registry = try await TestRegistry.start()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-share-\(UUID().uuidString.prefix(8))").path
        let client = RegistryClient()
        defer { Task { await client.shutdown() }; try? FileManager.default.removeItem(atPath: root) }
        let images = ImageManager(layout: ImageStoreLayout(root: root), client: client)
        async let a = images.pull("\(registry.host)/busybox")
        async let b = images.pull("\(registry.host)/withuser")
        let (busybox, withuser) = try await (a, b)
        #expect(busybox.layers == withuser.layers)
        let layer = Digest.hex(busybox.layers[0].digest)
        let gets = try String(contentsOfFile: registry.logPath, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("\"GET /v2/") && $0.contains("/blobs/sha256:\(layer)") }
        #expect(gets.count == 1, "\(gets)")
    }
}
