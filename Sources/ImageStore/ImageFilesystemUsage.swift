import LinuxKit

/// What `ImageFsInfo` reports: the space and inodes the image store really uses, measured on disk.
public struct ImageFilesystemUsage: Equatable, Sendable {
    /// The directory the usage is reported for (CRI's `FilesystemIdentifier.mountpoint`).
    public var mountpoint: String
    public var usedBytes: UInt64
    public var inodesUsed: UInt64
    /// Nanoseconds since the epoch when it was measured.
    public var timestamp: Int64

    /// Measures the content store and snapshots of `layout`.
    public static func measure(_ layout: ImageStoreLayout, now: Int64 = WallClock.nanoseconds()) throws -> ImageFilesystemUsage {
        var total = DiskUsage()
        for dir in [layout.content, layout.snapshots] {
            let usage = try DiskUsage.measure(dir)
            total.bytes += usage.bytes
            total.inodes += usage.inodes
        }
        return ImageFilesystemUsage(
            mountpoint: layout.snapshots, usedBytes: total.bytes, inodesUsed: total.inodes, timestamp: now)
    }
}
