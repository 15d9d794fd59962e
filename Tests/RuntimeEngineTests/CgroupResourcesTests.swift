@testable import Cgroups
import Foundation
import LinuxKit
import OCI
import Testing

@Suite struct CgroupResourcesTests {
    @Test func ociResourcesBecomeV2Files() throws {
        var r = RuntimeSpec.Resources()
        r.memory = RuntimeSpec.Memory(limit: 1 << 20, swap: 3 << 20)
        r.cpu = RuntimeSpec.CPU(shares: 1024, quota: 50_000, period: 100_000)
        r.pids = RuntimeSpec.Pids(limit: 64)
        r.unified = ["memory.high": "900000"]
        let files = try CgroupResources.files(r)
        #expect(files == [
            CgroupFile("memory.swap.max", "2097152"), CgroupFile("memory.max", "1048576"),
            CgroupFile("cpu.weight", "39"), CgroupFile("cpu.max", "50000 100000"),
            CgroupFile("pids.max", "64"), CgroupFile("memory.high", "900000"),
        ])
        #expect(files.map(\.controller) == ["memory", "memory", "cpu", "cpu", "pids", "memory"])
        #expect(CgroupFile("cgroup.freeze", "1").controller == nil)
    }

    /// runc's ConvertMemorySwapToCgroupV2Value: (swap, limit) → memory.swap.max.
    static let swapCases: [(swap: Int64, limit: Int64, expected: String?)] = [
        (0, 1 << 20, nil), (-1, 1 << 20, "max"), (0, -1, "max"), (1 << 20, 1 << 20, "0"), (3 << 20, 1 << 20, "2097152"),
    ]

    @Test func swapMeansWhatItMeansToRunc() throws {
        for c in Self.swapCases {
            #expect(try CgroupResources.swapMax(swap: c.swap, limit: c.limit) == c.expected, "swap \(c.swap) limit \(c.limit)")
        }
    }

    @Test func swapWithoutOrBelowTheLimitIsRefused() {
        #expect(throws: CgroupError.self) { try CgroupResources.swapMax(swap: 1 << 20, limit: 0) }
        #expect(throws: CgroupError.self) { try CgroupResources.swapMax(swap: 1 << 20, limit: 2 << 20) }
    }

    @Test func fieldsWithoutAV2FileAreRefusedOrReportedByName() throws {
        var r = RuntimeSpec.Resources()
        r.cpu = RuntimeSpec.CPU()
        r.cpu?.realtimeRuntime = 950_000
        #expect(throws: CgroupError.self) { try CgroupResources.files(r) }
        r.cpu?.realtimeRuntime = nil
        r.cpu?.idle = 1
        #expect(try CgroupResources.files(r) == [CgroupFile("cpu.idle", "1")])
        r.memory = RuntimeSpec.Memory()
        r.memory?.kernel = 1 << 20
        r.memory?.swappiness = 10
        let warnings = CgroupResources.warnings(r)
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.hasPrefix("linux.resources.memory.") })
    }

    @Test func blockIOWeightsAreConvertedAsRuncDoes() throws {
        var r = RuntimeSpec.Resources()
        r.blockIO = RuntimeSpec.BlockIO(weight: 500, weightDevice: [.init(major: 8, minor: 0, weight: 10)])
        #expect(try CgroupResources.files(r) == [CgroupFile("io.weight", "default 4950"), CgroupFile("io.weight", "8:0 1")])
        r.blockIO?.weight = 5
        #expect(throws: CgroupError.self) { try CgroupResources.files(r) }
    }

    @Test func hostileUnifiedKeysAreRefused() {
        var r = RuntimeSpec.Resources()
        r.unified = ["../../etc/passwd": "x"]
        #expect(throws: CgroupError.self) { try CgroupResources.files(r) }
    }

    @Test func pathsStayInsideTheHierarchy() throws {
        let v2 = CgroupV2(root: "/sys/fs/cgroup")
        #expect(try v2.directory(for: "/kubepods/pod1/c1", id: "c1") == "/sys/fs/cgroup/kubepods/pod1/c1")
        #expect(try v2.directory(for: nil, id: "c1") == "/sys/fs/cgroup/skiff/c1")
        #expect(throws: CgroupError.self) { try v2.directory(for: "/a/../../etc", id: "c1") }
        // Without the systemd driver a systemd-style path is a name, placed as runc's cgroupfs driver
        // places relative paths: beside the caller's own cgroup.
        let own = String(decoding: try AtomicFile.read("/proc/self/cgroup"), as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) } ?? "/"
        let parent = own.lastIndex(of: "/").map { String(own[..<$0]) } ?? ""
        #expect(try v2.directory(for: "system.slice:skiff:c1", id: "c1") == "/sys/fs/cgroup" + parent + "/system.slice:skiff:c1")
    }

    @Test func missingControllersAreNamedAndAvailableOnesEnabled() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-cg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "cpu pids\n".write(toFile: root + "/cgroup.controllers", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: root + "/cgroup.subtree_control", contents: nil)
        let v2 = CgroupV2(root: root)
        #expect(throws: CgroupError("the memory controller is not available in \(root) (available: cpu pids)")) {
            try v2.create(root + "/c1", files: [CgroupFile("memory.max", "1")])
        }
        // A fake hierarchy: the kernel would create the interface files; here they are plain files.
        try FileManager.default.createDirectory(atPath: root + "/c2", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/c2/pids.max", contents: nil)
        let fd = try v2.create(root + "/c2", files: [CgroupFile("pids.max", "10")])
        close(fd)
        #expect(try String(contentsOfFile: root + "/cgroup.subtree_control", encoding: .utf8) == "+pids")
        #expect(try String(contentsOfFile: root + "/c2/pids.max", encoding: .utf8) == "10")
    }
}
