import Cgroups
import Foundation
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
            CgroupFile("memory.max", "1048576"), CgroupFile("memory.swap.max", "2097152"),
            CgroupFile("cpu.weight", "39"), CgroupFile("cpu.max", "50000 100000"),
            CgroupFile("pids.max", "64"), CgroupFile("memory.high", "900000"),
        ])
        #expect(files.map(\.controller) == ["memory", "memory", "cpu", "cpu", "pids", "memory"])
        #expect(CgroupFile("cgroup.freeze", "1").controller == nil)
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
        #expect(throws: CgroupError.self) { try v2.directory(for: "system.slice:skiff:c1", id: "c1") }
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
