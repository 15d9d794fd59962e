#if canImport(Glibc)
import Glibc
#endif
import Crypto
import LinuxKit
import OCI
import Synchronization

/// Blobs by digest: `content/blobs/<algorithm>/<hex>`. Nothing reaches that directory unverified:
/// bytes stream into `content/ingest/` while being hashed and counted, and only a blob whose size
/// and digest match what the manifest promised is renamed into place. A wrong byte, a short or
/// long body, or a crash leaves nothing under `blobs/`.
public struct ContentStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    var blobs: String { root + "/blobs" }
    var ingestDir: String { root + "/ingest" }

    /// Where a verified blob lives (the digest must have been validated).
    public func path(of digest: String) -> String {
        let algorithm = digest.prefix { $0 != ":" }
        return "\(blobs)/\(algorithm)/\(Digest.hex(digest))"
    }

    /// Whether the blob is present with the expected size.
    public func contains(_ descriptor: Descriptor) -> Bool {
        guard Digest.isValid(descriptor.digest) else { return false }
        var st = stat()
        return stat(path(of: descriptor.digest), &st) == 0 && Int64(st.st_size) == descriptor.size
    }

    /// Reads a whole (small) blob: manifests and configs.
    public func read(_ digest: String, limit: Int = 8 << 20) throws(ImageError) -> [UInt8] {
        guard Digest.isValid(digest) else { throw .content(.invalidDigest(digest)) }
        do {
            return try AtomicFile.read(path(of: digest), limit: limit)
        } catch {
            throw .content(error.errno == ENOENT ? .notFound(digest) : .system(error))
        }
    }

    /// Starts writing the blob `descriptor` names.
    public func ingest(_ descriptor: Descriptor) throws(ImageError) -> Ingest {
        guard Digest.isValid(descriptor.digest) else { throw .content(.invalidDigest(descriptor.digest)) }
        guard descriptor.size >= 0 else { throw .content(.sizeMismatch(descriptor.digest, expected: descriptor.size, actual: 0)) }
        let target = path(of: descriptor.digest)
        do {
            try FileSystem.makeDirectories(ingestDir, mode: 0o700)
            try FileSystem.makeDirectories(String(target[..<target.lastIndex(of: "/")!]), mode: 0o755)
        } catch {
            throw .content(.system(error as? SystemError ?? SystemError("mkdir", path: root, errno: EIO)))
        }
        // The pid and a counter in the name: concurrent ingests of one blob never share a file.
        let temp = "\(ingestDir)/\(Digest.hex(descriptor.digest)).\(getpid()).\(Ingest.nextSerial())"
        let resumed = adoptPartial(of: descriptor.digest, as: temp)
        var fd = open(temp, (resumed ? O_RDWR : O_WRONLY | O_CREAT | O_EXCL) | O_CLOEXEC, 0o644)
        if fd < 0, errno == EEXIST {
            // Left by an earlier process that had our pid (after a reboot, say): nobody owns it.
            unlink(temp)
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw .content(.system(SystemError("open", path: temp))) }
        let ingest = Ingest(descriptor: descriptor, fd: fd, temp: temp, target: target)
        if resumed { try ingest.rehash() }
        return ingest
    }

    /// Takes over what an interrupted download of `digest` left (`<hex>.partial`, or the file of
    /// a process that died) by renaming it to `temp`. A rename is atomic, so two pulls never
    /// continue the same file.
    func adoptPartial(of digest: String, as temp: String) -> Bool {
        let hex = Digest.hex(digest)
        if rename("\(ingestDir)/\(hex).partial", temp) == 0 { return true }
        for name in FileSystem.directoryEntries(ingestDir) where name.hasPrefix(hex + ".") {
            guard let pid = Self.writer(ofIngest: name), writerIsGone(pid) else { continue }
            if rename("\(ingestDir)/\(name)", temp) == 0 { return true }
        }
        return false
    }

    /// Removes a blob (garbage collection); absent is fine.
    public func delete(_ digest: String) {
        guard Digest.isValid(digest) else { return }
        unlink(path(of: digest))
    }

    /// Every verified blob's digest.
    public func digests() -> [String] {
        FileSystem.directoryEntries(blobs).flatMap { algorithm in
            FileSystem.directoryEntries(blobs + "/" + algorithm).map { algorithm + ":" + $0 }.filter(Digest.isValid)
        }
    }

    /// Partial downloads: what interrupted pulls left for the next pull to continue.
    public func partials() -> [String] {
        FileSystem.directoryEntries(ingestDir).filter { !$0.hasPrefix(".") }.map { ingestDir + "/" + $0 }
    }

    /// Drops partial downloads nobody is writing (garbage collection): suspended ones and those
    /// of processes that no longer run.
    public func removeStaleIngests() {
        for name in FileSystem.directoryEntries(ingestDir) {
            if let pid = Self.writer(ofIngest: name), !writerIsGone(pid) { continue }
            unlink("\(ingestDir)/\(name)")
        }
    }

    /// The pid in an ingest file's name (`<hex>.<pid>.<serial>`); nil for a suspended `.partial`.
    static func writer(ofIngest name: String) -> Int32? {
        let parts = name.split(separator: ".")
        return parts.count == 3 ? Int32(parts[1]) : nil
    }
}

/// Whether the process that named a work file (an ingest, an unpack directory) after its pid is
/// gone, so the file is nobody's. This process's own are always in use.
func writerIsGone(_ pid: Int32) -> Bool {
    pid != getpid() && kill(pid, 0) != 0
}

/// One blob being written. Call `write` with the body as it arrives, then `commit`. On a
/// verification error (or if dropped without a commit) the partial file is removed; `suspend`
/// keeps it for a later download to continue. `written` is where that download starts.
public final class Ingest: @unchecked Sendable {  // used by one task at a time
    public let descriptor: Descriptor
    private var fd: Int32
    private let temp: String
    private let target: String
    private var hasher: Hasher
    public private(set) var written: Int64 = 0
    /// Told about every write and how the download ends, when an unpack reads along.
    var progress: BlobProgress?
    /// The file being written (it is renamed away at commit: open it before).
    var path: String { temp }

    enum Hasher {
        case sha256(SHA256)
        case sha512(SHA512)

        mutating func update(_ bytes: UnsafeRawBufferPointer) {
            switch self {
            case .sha256(var h): h.update(bufferPointer: bytes); self = .sha256(h)
            case .sha512(var h): h.update(bufferPointer: bytes); self = .sha512(h)
            }
        }

        func finalize() -> String {
            switch self {
            case .sha256(let h): "sha256:" + ContentDigest.hex(h.finalize())
            case .sha512(let h): "sha512:" + ContentDigest.hex(h.finalize())
            }
        }
    }

    private static let serial = Atomic<Int>(0)
    static func nextSerial() -> Int { serial.wrappingAdd(1, ordering: .relaxed).newValue }

    init(descriptor: Descriptor, fd: Int32, temp: String, target: String) {
        self.descriptor = descriptor
        self.fd = fd
        self.temp = temp
        self.target = target
        hasher = descriptor.digest.hasPrefix("sha512:") ? .sha512(SHA512()) : .sha256(SHA256())
    }

    deinit {
        abort()
        progress?.finish(verified: false)
    }

    /// Appends bytes; more than the descriptor's size fails at once (a registry cannot make us
    /// store an unbounded body).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        guard fd >= 0 else { throw .content(.aborted(descriptor.digest)) }
        guard written + Int64(bytes.count) <= descriptor.size else {
            abort()
            throw .content(.sizeMismatch(descriptor.digest, expected: descriptor.size, actual: written + Int64(bytes.count)))
        }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let error = SystemError("write", path: temp)
                abort()
                throw .content(.system(error))
            }
            offset += n
        }
        written += Int64(bytes.count)
        progress?.advance(to: written)
    }

    public func write(_ bytes: [UInt8]) throws(ImageError) {
        let result: Result<Void, ImageError> = bytes.withUnsafeBytes { buffer in
            do throws(ImageError) { return .success(try write(buffer)) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Verifies size and digest, then moves the blob into place durably.
    public func commit() throws(ImageError) {
        guard fd >= 0 else { throw .content(.aborted(descriptor.digest)) }
        guard written == descriptor.size else {
            abort()
            throw .content(.sizeMismatch(descriptor.digest, expected: descriptor.size, actual: written))
        }
        let actual = hasher.finalize()
        guard actual == descriptor.digest else {
            abort()
            throw .content(.digestMismatch(expected: descriptor.digest, actual: actual))
        }
        guard fsync(fd) == 0 else {
            let error = SystemError("fsync", path: temp)
            abort()
            throw .content(.system(error))
        }
        close(fd)
        fd = -1
        guard rename(temp, target) == 0 else {
            let error = SystemError("rename", path: target)
            unlink(temp)
            progress?.finish(verified: false)
            throw .content(.system(error))
        }
        progress?.finish(verified: true)
    }

    /// Hashes and counts what an adopted partial file already holds; one longer than the blob
    /// can only be wrong and starts over.
    func rehash() throws(ImageError) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { let error = SystemError("read", path: temp); abort(); throw .content(.system(error)) }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            written += Int64(n)
            if written > descriptor.size { try restart(); return }
        }
    }

    /// Starts the blob over from byte 0 (the server ignored a `Range` request).
    public func restart() throws(ImageError) {
        guard fd >= 0 else { throw .content(.aborted(descriptor.digest)) }
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            let error = SystemError("truncate", path: temp)
            abort()
            throw .content(.system(error))
        }
        hasher = descriptor.digest.hasPrefix("sha512:") ? .sha512(SHA512()) : .sha256(SHA256())
        written = 0
    }

    /// Keeps the bytes so far as `<hex>.partial`, for the next download of this blob to continue.
    public func suspend() {
        progress?.finish(verified: false)
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        let partial = String(temp[..<temp.lastIndex(of: "/")!]) + "/" + Digest.hex(descriptor.digest) + ".partial"
        if written == 0 || rename(temp, partial) != 0 { unlink(temp) }
    }

    /// Drops the partial blob.
    public func abort() {
        progress?.finish(verified: false)
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temp)
    }
}

/// Digests of bytes in memory (manifests, configs).
public enum ContentDigest {
    public static func sha256(_ bytes: [UInt8]) -> String { "sha256:" + hex(SHA256.hash(data: bytes)) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in digest { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
