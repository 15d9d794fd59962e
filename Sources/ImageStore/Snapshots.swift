#if canImport(Glibc)
import Glibc
#endif
import Crypto
import CUnpack
import LinuxKit
import OCI
import Synchronization

/// Unpacked layers, one directory per layer keyed by its chain id (`snapshots/<hex>`), each
/// usable as an overlay lowerdir: whiteouts are already in overlay's form. A snapshot appears
/// under its final name only once its layer unpacked completely and its tar matched the
/// config's diffID.
public struct Snapshots: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// Chain ids for a config's diffIDs: the first is the diffID, then
    /// `sha256(previous + " " + diffID)` (the OCI image spec's definition).
    public static func chainIDs(_ diffIDs: [String]) -> [String] {
        var chain: [String] = []
        for diffID in diffIDs {
            chain.append(chain.last.map { ContentDigest.sha256(Array("\($0) \(diffID)".utf8)) } ?? diffID)
        }
        return chain
    }

    public func path(of chainID: String) -> String { root + "/" + Digest.hex(chainID) }

    public func contains(_ chainID: String) -> Bool { FileSystem.exists(path(of: chainID)) }

    /// Unpacks the layer blob at `blob` as snapshot `chainID`, checking the tar against `diffID`.
    @discardableResult
    public func unpack(blob: String, diffID: String, chainID: String) throws(ImageError) -> UnpackStats {
        let blobFD = open(blob, O_RDONLY | O_CLOEXEC)
        guard blobFD >= 0 else { throw .unpack(.system("\(blob): \(SystemError("open").reason)")) }
        return try unpack(blobFD: blobFD, progress: nil, diffID: diffID, chainID: chainID)
    }

    /// Unpacks the layer read from `blobFD` (closed when done). With `progress`, the blob is still
    /// being downloaded: the unpack reads what has arrived and waits for the rest.
    @discardableResult
    public func unpack(blobFD: Int32, progress: BlobProgress?, diffID: String, chainID: String) throws(ImageError) -> UnpackStats {
        defer { close(blobFD) }
        guard Digest.isValid(diffID), Digest.isValid(chainID) else { throw .unpack(.invalidDigest(diffID)) }
        if contains(chainID) { return UnpackStats(entries: 0, whiteouts: 0) }
        do { try FileSystem.makeDirectories(root, mode: 0o700) } catch { throw .unpack(.system("\(root): \(error)")) }
        // Unique per attempt: a retried download may overlap the unpack of the attempt it replaces.
        let temp = root + "/.unpack-\(getpid())-\(Self.nextSerial())-\(Digest.hex(chainID).prefix(12))"
        try? FileSystem.removeTree(temp)
        guard mkdir(temp, 0o755) == 0 else { throw .unpack(.system("mkdir \(temp): \(SystemError("mkdir").reason)")) }
        var keep = false
        defer { if !keep { try? FileSystem.removeTree(temp) } }
        let rootFD = open(temp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw .unpack(.system("\(temp): \(SystemError("open").reason)")) }
        defer { close(rootFD) }

        let context = UnpackContext(progress: progress)
        var result = cs_unpack_result()
        let rc = cs_unpack_layer(blobFD, rootFD, { context, data, length in
            Unmanaged<UnpackContext>.fromOpaque(context!).takeUnretainedValue().update(data!, length)
        }, progress == nil ? nil : { context, offset in
            Unmanaged<UnpackContext>.fromOpaque(context!).takeUnretainedValue().progress!.wait(beyond: offset)
        }, Unmanaged.passUnretained(context).toOpaque(), &result)
        let message = withUnsafeBytes(of: result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard rc == 0 else { throw .unpack(.layer(diffID, message)) }
        let actual = context.finalize()
        guard actual == diffID else { throw .unpack(.diffIDMismatch(expected: diffID, actual: actual)) }
        guard rename(temp, path(of: chainID)) == 0 else {
            // Another pull of an image with this layer finished it first: same content, keep theirs.
            if errno == ENOTEMPTY || errno == EEXIST, contains(chainID) { return UnpackStats(entries: 0, whiteouts: 0) }
            throw .unpack(.system("rename to \(path(of: chainID)): \(SystemError("rename").reason)"))
        }
        keep = true
        return UnpackStats(entries: Int(result.entries), whiteouts: Int(result.whiteouts))
    }

    private static let serial = Atomic<Int>(0)
    static func nextSerial() -> Int { serial.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Chain ids of the snapshots present (all sha256).
    public func chainIDs() -> [String] {
        FileSystem.directoryEntries(root).filter { !$0.hasPrefix(".") }.map { "sha256:" + $0 }.filter(Digest.isValid)
    }

    /// Unpack directories of processes that no longer run.
    public func removeStaleUnpacks() {
        for name in FileSystem.directoryEntries(root) where name.hasPrefix(".unpack-") {
            guard let pid = Int32(name.dropFirst(8).prefix { $0 != "-" }), writerIsGone(pid) else { continue }
            try? FileSystem.removeTree(root + "/" + name)
        }
    }

    public func remove(_ chainID: String) {
        guard Digest.isValid(chainID) else { return }
        try? FileSystem.removeTree(path(of: chainID))
    }
}

public struct UnpackStats: Equatable, Sendable {
    public var entries: Int
    public var whiteouts: Int
}

/// What the C unpack calls back into: the running SHA-256 of the uncompressed tar, and the
/// download it may be reading along with.
private final class UnpackContext {
    private var hash = SHA256()
    let progress: BlobProgress?

    init(progress: BlobProgress?) { self.progress = progress }

    func update(_ data: UnsafeRawPointer, _ length: Int) {
        hash.update(bufferPointer: UnsafeRawBufferPointer(start: data, count: length))
    }

    func finalize() -> String { "sha256:" + ContentDigest.hex(hash.finalize()) }
}
