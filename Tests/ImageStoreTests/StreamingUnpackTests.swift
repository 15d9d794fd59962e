import Foundation
import Glibc
import ImageFixtures
@testable import ImageStore
import LinuxKit
import OCI
import Testing

/// A layer unpacked while its blob is still being written, as a pull does it.
@Suite(.enabled(if: getuid() == 0, "needs root: ownership and device nodes"))
struct StreamingUnpackTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-stream-\(UUID().uuidString.prefix(8))").path
    var snapshots: Snapshots { Snapshots(root: root + "/snapshots") }

    var busybox: (bytes: [UInt8], diffID: String) {
        let entry = TestImages.digests["busybox"] as? [String: Any]
        let layer = (entry?["layers"] as? [String])?.first ?? ""
        let bytes = FileManager.default.contents(atPath: TestImages.layouts + "/busybox/blobs/sha256/" + Digest.hex(layer)) ?? Data()
        return (Array(bytes), (entry?["diffIDs"] as? [String])?.first ?? "")
    }

    /// Starts an unpack of a blob file that holds nothing yet; returns the writer's handle.
    func startUnpack(diffID: String) throws -> (fd: Int32, progress: BlobProgress, unpack: Task<UnpackStats, any Error>) {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let path = root + "/blob"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        let progress = BlobProgress()
        let snapshots = self.snapshots
        let unpack = Task { try await OffPool.run { try snapshots.unpack(blobFD: reader, progress: progress, diffID: diffID, chainID: diffID) } }
        return (fd, progress, unpack)
    }

    func append(_ fd: Int32, _ bytes: ArraySlice<UInt8>, _ progress: BlobProgress, total: inout Int64) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        total += Int64(bytes.count)
        progress.advance(to: total)
    }

    /// The entries the unpack has made so far, in its temporary directory.
    func unpackedSoFar() -> Int {
        FileSystem.directoryEntries(root + "/snapshots").filter { $0.hasPrefix(".unpack-") }
            .reduce(0) { $0 + FileSystem.directoryEntries(root + "/snapshots/" + $1).count }
    }

    @Test func theUnpackWorksThroughWhatHasArrivedAndWaitsForTheRest() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (bytes, diffID) = busybox
        let (fd, progress, unpack) = try startUnpack(diffID: diffID)
        defer { close(fd) }
        var total: Int64 = 0
        append(fd, bytes[..<(bytes.count / 2)], progress, total: &total)
        // Entries appear from the first half while the second has not been written.
        var waited = 0
        while unpackedSoFar() == 0, waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(unpackedSoFar() > 0)
        #expect(!snapshots.contains(diffID))
        append(fd, bytes[(bytes.count / 2)...], progress, total: &total)
        progress.finish(verified: true)
        let stats = try await unpack.value
        #expect(stats.entries > 0)
        #expect(snapshots.contains(diffID))
        #expect(FileManager.default.isExecutableFile(atPath: snapshots.path(of: diffID) + "/bin/busybox"))
    }

    @Test func aFailedDownloadEndsTheUnpackAndLeavesNothing() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (bytes, diffID) = busybox
        let (fd, progress, unpack) = try startUnpack(diffID: diffID)
        defer { close(fd) }
        var total: Int64 = 0
        append(fd, bytes[..<(bytes.count / 3)], progress, total: &total)
        progress.finish(verified: false)
        await #expect { _ = try await unpack.value } throws: { error in
            "\(error)".contains("the download of the layer failed")
        }
        #expect(!snapshots.contains(diffID))
        #expect(FileSystem.directoryEntries(root + "/snapshots").isEmpty)
    }
}
