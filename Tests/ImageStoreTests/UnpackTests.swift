import Foundation
import Glibc
import ImageFixtures
import ImageStore
import LinuxKit
import OCI
import Testing

/// Layers unpacked into snapshots: the test images' layers (whiteouts, hard links, devices,
/// owners, xattrs, zstd), and hostile tars that must never write outside the snapshot.
@Suite(.enabled(if: getuid() == 0, "needs root: ownership, device nodes, trusted xattrs"))
struct UnpackTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-snap-\(UUID().uuidString.prefix(8))").path
    var snapshots: Snapshots { Snapshots(root: root + "/snapshots") }

    func layoutBlob(_ image: String, _ digest: String) -> String {
        TestImages.layouts + "/\(image)/blobs/sha256/" + Digest.hex(digest)
    }

    func diffIDs(_ image: String) -> [String] { (TestImages.digests[image] as? [String: Any])?["diffIDs"] as? [String] ?? [] }
    func layers(_ image: String) -> [String] { (TestImages.digests[image] as? [String: Any])?["layers"] as? [String] ?? [] }

    func unpackAll(_ image: String) throws -> [String] {
        let chain = Snapshots.chainIDs(diffIDs(image))
        for (i, layer) in layers(image).enumerated() {
            try snapshots.unpack(blob: layoutBlob(image, layer), diffID: diffIDs(image)[i], chainID: chain[i])
        }
        return chain.map { snapshots.path(of: $0) }
    }

    func stat(_ path: String) -> stat? {
        var st = Glibc.stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    /// Through python: Glibc's module has no xattr calls.
    func xattr(_ path: String, _ name: String) -> String? {
        let script = "import os,sys\ntry: sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())\nexcept OSError: sys.exit(1)"
        guard let result = try? ChildProcess.run("/usr/bin/python3", ["-c", script, path, name]), result.status == 0 else { return nil }
        return result.stdout
    }

    /// `makedev` for small numbers (Glibc's module lacks the macro).
    func device(_ major: UInt, _ minor: UInt) -> UInt { (major << 8) | minor }

    func kind(_ path: String) -> (type: UInt32, rdev: UInt)? {
        stat(path).map { (UInt32($0.st_mode) & UInt32(S_IFMT), UInt($0.st_rdev)) }
    }

    @Test func theLayeredImageUnpacksWithOverlayWhiteoutsLinksDevicesAndOwners() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dirs = try unpackAll("layered")
        #expect(dirs.count == 3)
        let (second, third) = (dirs[1], dirs[2])
        // Layer 2: hard link, owner and mode, device node, symlink kept as written, xattr.
        #expect(stat(second + "/data/hard")?.st_ino == stat(second + "/data/a")?.st_ino)
        let secret = stat(second + "/data/secret")
        #expect(secret.map { $0.st_mode & 0o7777 } == 0o600)
        #expect(secret.map { [$0.st_uid, $0.st_gid] } == [1000, 1000])
        #expect(kind(second + "/dev/null-copy")?.type == UInt32(S_IFCHR))
        #expect(kind(second + "/dev/null-copy")?.rdev == device(1, 3))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: second + "/data/abslink")) == "/bin/busybox")
        #expect(xattr(second + "/data/xattr", "user.test") == "hello" || xattr(second + "/data/xattr", "user.test") == nil)
        // Layer 3: `.wh.b` is a 0/0 character device, the opaque marker an xattr.
        #expect(kind(third + "/data/b")?.type == UInt32(S_IFCHR))
        #expect(kind(third + "/data/b")?.rdev == device(0, 0))
        #expect(xattr(third + "/data/dir", "trusted.overlay.opaque") == "y")
        #expect(FileManager.default.fileExists(atPath: third + "/data/dir/y"))
        #expect(!FileManager.default.fileExists(atPath: third + "/data/.wh.b"))
    }

    @Test func aZstdLayerUnpacksAndChecksItsDiffID() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dirs = try unpackAll("zstd")
        #expect(FileManager.default.isExecutableFile(atPath: dirs[0] + "/bin/busybox"))
    }

    @Test func aLayerThatDoesNotMatchItsDiffIDLeavesNoSnapshot() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        #expect {
            try snapshots.unpack(blob: layoutBlob("busybox", layers("busybox")[0]), diffID: wrong, chainID: wrong)
        } throws: { error in
            if case ImageError.unpack = error { true } else { false }
        }
        #expect(!snapshots.contains(wrong))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: snapshots.root)) ?? [] == [])
    }

    @Test func aSparseFileKeepsItsHoles() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        // GNU tar writes PAX sparse entries: 8 MiB with 4 KiB of data in the middle.
        let source = root + "/sparse-src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        let fd = open(source + "/disk.img", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        let data = [UInt8](repeating: 0x5A, count: 4096)
        _ = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 4 << 20) }
        ftruncate(fd, 8 << 20)
        close(fd)
        let made = try ChildProcess.run("/bin/tar", ["-C", source, "--sparse", "--format=posix", "-cf", root + "/sparse.tar", "disk.img"])
        try #require(made.status == 0, "\(made.stderr)")
        let diffID = ContentDigest.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: root + "/sparse.tar"))))
        try snapshots.unpack(blob: root + "/sparse.tar", diffID: diffID, chainID: diffID)
        let file = snapshots.path(of: diffID) + "/disk.img"
        let st = try #require(stat(file))
        #expect(st.st_size == 8 << 20)
        #expect(st.st_blocks * 512 < 1 << 20, "the holes stay holes: \(st.st_blocks) blocks")
        let copy = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(copy[(4 << 20)..<((4 << 20) + 4096)].allSatisfy { $0 == 0x5A })
        #expect(copy[0..<(4 << 20)].allSatisfy { $0 == 0 })
    }

    /// Unpacks one hostile tar; returns the error text (nil if it unpacked) and the snapshot dir.
    func hostile(_ name: String, hostName: String) throws -> (String?, String) {
        let dir = root + "/hostile"
        let made = try ChildProcess.run("/usr/bin/python3", [TestImages.fixtures + "/hostile-tars.py", dir, hostName])
        try #require(made.status == 0, "\(made.stderr)")
        let blob = dir + "/\(name).tar"
        let diffID = ContentDigest.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: blob))))
        do {
            try snapshots.unpack(blob: blob, diffID: diffID, chainID: diffID)
            return (nil, snapshots.path(of: diffID))
        } catch {
            return ("\(error)", snapshots.path(of: diffID))
        }
    }

    @Test func hostileTarsNeverWriteOutsideTheSnapshot() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let hostName = "skiff-escape-\(UUID().uuidString.prefix(8))"
        let outside = ["/tmp/\(hostName)", "/tmp/\(hostName)-up", "/\(hostName)", root + "/\(hostName)"]

        let (traversal, _) = try hostile("traversal", hostName: hostName)
        #expect(traversal?.contains("a path with '..' is not allowed") == true, "\(traversal ?? "unpacked")")

        let (absolute, absoluteDir) = try hostile("absolute", hostName: hostName)
        #expect(absolute == nil)
        #expect(FileManager.default.fileExists(atPath: absoluteDir + "/" + hostName))

        let (through, throughDir) = try hostile("symlink-write", hostName: hostName)
        #expect(through == nil, "\(through ?? "")")
        #expect(FileManager.default.fileExists(atPath: throughDir + "/tmp/" + hostName))
        #expect(FileManager.default.fileExists(atPath: throughDir + "/tmp/" + hostName + "-up"))

        let linksBefore = stat("/etc/passwd")?.st_nlink
        let (hardlink, _) = try hostile("hardlink-out", hostName: hostName)
        #expect(hardlink?.contains("hard link to etc/passwd") == true, "\(hardlink ?? "unpacked")")
        #expect(stat("/etc/passwd")?.st_nlink == linksBefore)

        // The directory became a symlink to /tmp, which the snapshot does not have: refused.
        let (swapped, _) = try hostile("replace-dir", hostName: hostName)
        #expect(swapped?.contains("parent directory: No such file or directory") == true, "\(swapped ?? "unpacked")")

        for path in outside { #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written") }
    }
}
