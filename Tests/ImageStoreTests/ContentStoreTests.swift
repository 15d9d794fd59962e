import Crypto
import Foundation
import ImageStore
import OCI
import Testing

@Suite struct ContentStoreTests {
    let root: String
    let store: ContentStore

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-content-\(UUID().uuidString.prefix(8))").path
        store = ContentStore(root: root)
    }

    func descriptor(_ bytes: [UInt8]) -> Descriptor {
        let hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return Descriptor(mediaType: MediaType.ociLayer, digest: "sha256:" + hex, size: Int64(bytes.count))
    }

    func blobFiles() -> [String] {
        let dir = root + "/blobs/sha256"
        return (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    }

    func ingestFiles() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? [] }

    @Test func aVerifiedBlobLandsUnderItsDigest() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let body = Array("hello, registry".utf8) + [UInt8](repeating: 7, count: 100_000)
        let d = descriptor(body)
        let ingest = try store.ingest(d)
        try ingest.write(Array(body[..<1000]))
        try ingest.write(Array(body[1000...]))
        try ingest.commit()
        #expect(store.contains(d))
        #expect(try store.read(d.digest) == body)
        #expect(ingestFiles().isEmpty)
    }

    @Test func oneWrongByteFailsAndLeavesNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        var body = [UInt8](repeating: 1, count: 4096)
        let d = descriptor(body)
        body[2048] = 2
        let ingest = try store.ingest(d)
        try ingest.write(body)
        #expect { try ingest.commit() } throws: { error in
            guard case ImageError.content(.digestMismatch(let expected, _)) = error else { return false }
            return expected == d.digest
        }
        #expect(!store.contains(d))
        #expect(blobFiles().isEmpty)
        #expect(ingestFiles().isEmpty)
    }

    @Test func aLongerBodyIsCutOffAtTheFirstExtraByte() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let body = [UInt8](repeating: 3, count: 100)
        let ingest = try store.ingest(descriptor(body))
        try ingest.write(body)
        #expect(throws: ImageError.content(.sizeMismatch(descriptor(body).digest, expected: 100, actual: 101))) { try ingest.write([0]) }
        #expect(ingestFiles().isEmpty)
    }

    @Test func aShortBodyFailsAtCommit() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let body = [UInt8](repeating: 3, count: 100)
        let ingest = try store.ingest(descriptor(body))
        try ingest.write(Array(body[..<99]))
        #expect(throws: ImageError.content(.sizeMismatch(descriptor(body).digest, expected: 100, actual: 99))) { try ingest.commit() }
        #expect(blobFiles().isEmpty)
        #expect(ingestFiles().isEmpty)
    }

    @Test func anAbandonedIngestIsRemoved() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            let ingest = try store.ingest(descriptor([1, 2, 3]))
            try ingest.write([1])
            #expect(ingestFiles().count == 1)
        }
        #expect(ingestFiles().isEmpty)
    }

    @Test func invalidDigestsAreRefusedBeforeAnyFileIsMade() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        for digest in ["sha256:../../etc/passwd", "md5:abc", "sha256:" + String(repeating: "A", count: 64)] {
            let bad = Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: 1)
            #expect(throws: ImageError.content(.invalidDigest(digest))) { try store.ingest(bad) }
        }
        #expect(!FileManager.default.fileExists(atPath: root))
    }
}
