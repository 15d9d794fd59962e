import Foundation
import Glibc
import ImageFixtures
import ImageStore
import OCI
import Testing

/// Pull → record → status/list/remove, against the test registry, through `ImageManager`.
@Suite(.serialized, .enabled(if: getuid() == 0, "unpacking sets owners and device nodes"))
struct ImageManagerTests {
    @Test func aPulledImageIsRecordedFoundByEveryNameAndSurvivesARestart() async throws {
        let registry = try await TestRegistry.start()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-images-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let layout = ImageStoreLayout(root: root)
        let manager = ImageManager(layout: layout, client: client)

        // Two pulls of one reference at once share the download and give one record.
        async let first = manager.pull("\(registry.host)/layered")
        async let second = manager.pull("\(registry.host)/layered:latest")
        let (a, b) = try await (first, second)
        #expect(a == b)
        #expect(a.id == TestImages.digest("layered", "config"))
        #expect(a.repoTags == ["\(registry.host)/layered:latest"])
        #expect(a.repoDigests == ["\(registry.host)/layered@\(TestImages.digest("layered", "manifest"))"])
        #expect(a.chainIDs.count == 3)
        for chainID in a.chainIDs { #expect(Snapshots(root: layout.snapshots).contains(chainID)) }

        let user = try await manager.pull("\(registry.host)/withuser")
        #expect(user.user == "1000:1000")
        for name in [a.id, String(Digest.hex(a.id)), String(Digest.hex(a.id).prefix(12)), "\(registry.host)/layered",
                     "\(registry.host)/layered@\(TestImages.digest("layered", "manifest"))"] {
            #expect(await manager.status(name)?.id == a.id, "\(name)")
        }
        #expect(await manager.status("\(registry.host)/nosuch") == nil)
        #expect(await manager.list().map(\.id).sorted() == [a.id, user.id].sorted())
        #expect(await manager.list(filter: "\(registry.host)/withuser").map(\.id) == [user.id])

        // A new manager (a restarted daemon) reads the records back.
        let restarted = ImageManager(layout: layout, client: client)
        #expect(await restarted.list().count == 2)
        try await restarted.remove("\(registry.host)/layered")
        try await restarted.remove("\(registry.host)/layered")
        #expect(await restarted.status(a.id) == nil)
        #expect(await ImageManager(layout: layout, client: client).list().map(\.id) == [user.id])
    }

    @Test func aBadReferenceAndAMissingImageFailClearly() async throws {
        let registry = try await TestRegistry.start()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-images-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let manager = ImageManager(layout: ImageStoreLayout(root: root), client: client)
        await #expect { _ = try await manager.pull("Bad/Name") } throws: { error in
            "\(error)".contains("must be lowercase")
        }
        await #expect { _ = try await manager.pull("\(registry.host)/nosuch") } throws: { error in
            (error as? ImageError).map { if case .registry(.notFound) = $0 { true } else { false } } ?? false
        }
        #expect(await manager.list().isEmpty)
    }
}
