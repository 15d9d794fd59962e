#if canImport(Glibc)
import Glibc
#endif

/// Space and inodes used by a directory tree, counted the way `du` does: allocated blocks, each
/// hard-linked inode once, never crossing into another filesystem or following symlinks.
public struct DiskUsage: Equatable, Sendable {
    public var bytes: UInt64 = 0
    public var inodes: UInt64 = 0

    public init(bytes: UInt64 = 0, inodes: UInt64 = 0) {
        self.bytes = bytes
        self.inodes = inodes
    }

    /// Measures `path`; a missing path uses nothing.
    public static func measure(_ path: String) throws -> DiskUsage {
        var root = stat()
        guard lstat(path, &root) == 0 else {
            if errno == ENOENT { return DiskUsage() }
            throw SystemError("lstat", path: path)
        }
        var usage = DiskUsage()
        var seen = Set<UInt64>()
        try walk(path, device: root.st_dev, into: &usage, seen: &seen)
        return usage
    }

    private static func walk(_ path: String, device: dev_t, into usage: inout DiskUsage, seen: inout Set<UInt64>) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            // Entries vanish while the store is in use (a pull finishing, a snapshot removed).
            if errno == ENOENT { return }
            throw SystemError("lstat", path: path)
        }
        guard st.st_dev == device else { return }
        if st.st_nlink <= 1 || seen.insert(UInt64(st.st_ino)).inserted {
            usage.bytes += UInt64(st.st_blocks) * 512
            usage.inodes += 1
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return }
        for name in FileSystem.directoryEntries(path) {
            try walk(path + "/" + name, device: device, into: &usage, seen: &seen)
        }
    }
}
