import Foundation
import Glibc
import Testing
@testable import LinuxKit

@Suite struct LinuxKitTests {
    func scratchDir() throws -> String { try makeScratchDirectory() }

    @Test func kernelReleaseComparesWithProcsOwnVersion() throws {
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
        let parts = release.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        #expect(KernelRelease.atLeast(parts[0], parts[1]))
        #expect(KernelRelease.atLeast(parts[0] - 1, 99))
        #expect(!KernelRelease.atLeast(parts[0], parts[1] + 1))
        #expect(!KernelRelease.atLeast(parts[0] + 1, 0))
    }

    @Test func diskUsageCountsBlocksAndHardLinkedInodesOnce() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try DiskUsage.measure(dir + "/missing") == DiskUsage())
        let data = Data(repeating: 7, count: 100_000)
        try data.write(to: URL(fileURLWithPath: dir + "/a"))
        let before = try DiskUsage.measure(dir)
        #expect(before.inodes == 2)
        #expect(before.bytes >= 100_000)
        #expect(link(dir + "/a", dir + "/b") == 0)
        let after = try DiskUsage.measure(dir)
        #expect(after == before)
    }

    @Test func aSecondLockOnTheSameFileIsRefused() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var first: FileLock? = try FileLock(path: dir + "/l")
        #expect(throws: FileLock.Held.self) { try FileLock(path: dir + "/l") }
        first = nil
        _ = first
        _ = try FileLock(path: dir + "/l")
    }

    @Test func theListenerReplacesAStaleSocketButNotOtherFiles() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let first = try UnixListener.listen(path: path, mode: 0o660, gid: nil)
        close(first)
        // The file of a dead listener is still there: it must be replaced.
        let second = try UnixListener.listen(path: path, mode: 0o660, gid: nil)
        defer { close(second) }
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)

        let plain = dir + "/plain"
        FileManager.default.createFile(atPath: plain, contents: Data("keep".utf8))
        #expect(throws: UnixListener.Failure.notASocket(plain)) { try UnixListener.listen(path: plain, mode: 0o660, gid: nil) }
        #expect(FileManager.default.contents(atPath: plain) == Data("keep".utf8))
    }

    @Test func notifySendsOneDatagramToTheSocket() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try SystemdNotify.send("READY=1", socketPath: "") == false)
        let path = dir + "/notify"
        let fd = try UnixSocket.bound(path: path, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        #expect(try SystemdNotify.send("READY=1", socketPath: path))
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        #expect(n == 7)
        #expect(String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self) == "READY=1")
    }
}

/// A fresh directory under the temporary directory, for one test.
func makeScratchDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-lk-\(UUID().uuidString)").path
    try FileSystem.makeDirectories(dir)
    return dir
}
