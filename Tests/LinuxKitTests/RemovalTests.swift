import Foundation
import Glibc
import Testing
@testable import LinuxKit

/// removeTree and AtomicFile under the conditions a runtime meets: mounts left inside a state
/// directory, symlinks planted in it, and several threads writing one file.
@Suite struct RemovalTests {
    func scratchDir() throws -> String { try makeScratchDirectory() }

    @Test func removeTreeNeverFollowsASymlink() throws {
        let dir = try scratchDir(), outside = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try "keep".write(toFile: outside + "/file", atomically: true, encoding: .utf8)
        try FileSystem.makeDirectories(dir + "/a/b")
        #expect(symlink(outside, dir + "/a/b/link") == 0)
        #expect(symlink(outside + "/file", dir + "/a/filelink") == 0)
        try FileSystem.removeTree(dir)
        #expect(!FileSystem.exists(dir))
        #expect(FileSystem.exists(outside + "/file"))
        // A symlink given as the tree itself goes, its target stays.
        #expect(symlink(outside, dir) == 0)
        try FileSystem.removeTree(dir)
        #expect(FileSystem.exists(outside + "/file"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to mount"))
    func removeTreeStopsAtAMountPoint() throws {
        let dir = try scratchDir(), mounted = try scratchDir()
        defer {
            umount2(dir + "/state/rootfs", Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: mounted)
        }
        try "host data".write(toFile: mounted + "/precious", atomically: true, encoding: .utf8)
        try FileSystem.makeDirectories(dir + "/state/rootfs")
        #expect(mount(mounted, dir + "/state/rootfs", nil, UInt(MS_BIND), nil) == 0)
        #expect(throws: SystemError.self) { try FileSystem.removeTree(dir) }
        #expect(FileSystem.exists(mounted + "/precious"), "the removal emptied a mounted filesystem")
    }

    @Test func threadsWritingOneFileDoNotCollide() async throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.json"
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    try await OffPool.run {
                        var failed = 0
                        for _ in 0..<300 {
                            do { try AtomicFile.write(Array(String(repeating: "\(writer)", count: 4096).utf8), to: path, durable: false) } catch { failed += 1 }
                        }
                        return failed
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        let content = String(decoding: try AtomicFile.read(path), as: UTF8.self)
        #expect(content == String(repeating: "0", count: 4096) || content == String(repeating: "1", count: 4096))
        #expect(FileSystem.directoryEntries(dir) == ["state.json"], "temp files left behind")
    }
}
