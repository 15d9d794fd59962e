#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import LinuxKit
import OCI

/// What the node knows about one pulled image, saved as `images/<config hex>.json` so it survives
/// a daemon restart. The id is the config digest, which is what `ImageStatus` and
/// `ContainerStatus.image_id` report.
public struct ImageRecord: Codable, Equatable, Sendable {
    public var id: String
    public var repoTags: [String]
    public var repoDigests: [String]
    public var manifestDigest: String
    public var config: Descriptor
    public var layers: [Descriptor]
    public var chainIDs: [String]
    /// The config's `User` ("1000", "1000:1000", "nobody"), for CRI's uid/username.
    public var user: String?
    public var pinned = false

    /// Compressed bytes of the config and layers: what crictl's SIZE column shows for containerd.
    public var size: UInt64 { UInt64(config.size) + layers.reduce(0) { $0 + UInt64(max($1.size, 0)) } }
}

/// The records on disk and in memory. Not thread-safe: `ImageManager` (an actor) owns it.
struct ImageRecords {
    let dir: String
    private(set) var byID: [String: ImageRecord] = [:]

    init(dir: String) {
        self.dir = dir
        for name in FileSystem.directoryEntries(dir) where name.hasSuffix(".json") {
            guard let bytes = try? AtomicFile.read(dir + "/" + name),
                  let record = try? JSONDecoder().decode(ImageRecord.self, from: Data(bytes)),
                  Digest.isValid(record.id) else { continue }
            byID[record.id] = record
        }
    }

    /// Saves `record`; a tag it carries is taken off any other image (a tag names one image).
    mutating func save(_ record: ImageRecord) throws(ImageError) {
        for (id, var other) in byID where id != record.id {
            let before = other.repoTags.count
            other.repoTags.removeAll { record.repoTags.contains($0) }
            if other.repoTags.count != before { try write(other) }
        }
        try write(record)
    }

    mutating func delete(_ id: String) {
        byID[id] = nil
        unlink(dir + "/" + Digest.hex(id) + ".json")
    }

    private mutating func write(_ record: ImageRecord) throws(ImageError) {
        do {
            try FileSystem.makeDirectories(dir, mode: 0o700)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(record)), to: dir + "/" + Digest.hex(record.id) + ".json", mode: 0o600)
        } catch {
            throw .store("saving the record of \(record.id): \(error)")
        }
        byID[record.id] = record
    }

    /// By id (`sha256:…`, or its hex, or a unique hex prefix of at least 12), by tag, or by digest
    /// reference — the forms kubelet and crictl use.
    func find(_ text: String) -> ImageRecord? {
        if let record = byID[text] ?? byID["sha256:" + text] { return record }
        if text.count >= 12, text.allSatisfy(\.isHexDigit) {
            let matches = byID.values.filter { Digest.hex($0.id).hasPrefix(text) }
            if matches.count == 1 { return matches[0] }
        }
        guard let reference = try? ImageReference(parsing: text) else { return nil }
        if let digest = reference.digest {
            let pinned = reference.repository + "@" + digest
            return byID.values.first { $0.repoDigests.contains(pinned) }
        }
        guard let tag = reference.repoTag else { return nil }
        return byID.values.first { $0.repoTags.contains(tag) }
    }
}
