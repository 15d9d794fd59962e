import Foundation
import Testing
@testable import PodManager

/// The cgroup v2 files as the kernel writes them, in a directory of the test's.
@Suite struct ContainerStatsTests {
    @Test func memoryAndCPUFiguresFollowTheKubeletsDefinitions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-stats-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dir + "/upper", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n".write(toFile: dir + "/cpu.stat", atomically: true, encoding: .utf8)
        try "10000\n".write(toFile: dir + "/memory.current", atomically: true, encoding: .utf8)
        try "anon 6000\nfile 4000\ninactive_file 3000\npgfault 77\npgmajfault 2\n".write(toFile: dir + "/memory.stat", atomically: true, encoding: .utf8)
        try "20000\n".write(toFile: dir + "/memory.max", atomically: true, encoding: .utf8)
        try Data(count: 5000).write(to: URL(fileURLWithPath: dir + "/upper/file"))
        let s = ContainerStats.sample(cgroup: dir, upper: dir + "/upper")
        #expect(s.cpuUsageNanoseconds == 2_500_000)
        #expect(s.memoryUsage == 10000 && s.memoryWorkingSet == 7000 && s.memoryRSS == 6000 && s.memoryAvailable == 13000)
        #expect(s.pageFaults == 77 && s.majorPageFaults == 2)
        #expect((s.writableLayer?.bytes ?? 0) >= 5000)
        // No memory controller: no memory figures at all; "max": nothing available to report.
        try FileManager.default.removeItem(atPath: dir + "/memory.current")
        #expect(ContainerStats.sample(cgroup: dir, upper: dir + "/upper").memoryUsage == nil)
        try "10000\n".write(toFile: dir + "/memory.current", atomically: true, encoding: .utf8)
        try "max\n".write(toFile: dir + "/memory.max", atomically: true, encoding: .utf8)
        #expect(ContainerStats.sample(cgroup: dir, upper: dir + "/upper").memoryAvailable == nil)
    }

    @Test func anOOMKillInTheCgroupMakesTheReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-oom-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(!ContainerStats.oomKilled(cgroup: dir))          // no memory controller: no file
        try "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n".write(toFile: dir + "/memory.events", atomically: true, encoding: .utf8)
        #expect(!ContainerStats.oomKilled(cgroup: dir))          // at the limit, nobody killed
        try "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n".write(toFile: dir + "/memory.events", atomically: true, encoding: .utf8)
        #expect(ContainerStats.oomKilled(cgroup: dir))
        #expect(!ContainerStats.oomKilled(cgroup: nil))
    }

    /// A systemd scope is gone once empty: the parent slice's count, against the one at start, says it.
    @Test func aGoneCgroupIsJudgedByItsParentsCountSinceTheStart() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-oom-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let scope = parent + "/skiff-c1.scope"   // never made: removed already
        try "oom 1\noom_kill 1\n".write(toFile: parent + "/memory.events", atomically: true, encoding: .utf8)
        #expect(!ContainerStats.oomKilled(cgroup: scope, parentBaseline: 1))   // an earlier kill, not this one
        #expect(!ContainerStats.oomKilled(cgroup: scope))                      // no baseline: no judgement
        try "oom 2\noom_kill 2\n".write(toFile: parent + "/memory.events", atomically: true, encoding: .utf8)
        #expect(ContainerStats.oomKilled(cgroup: scope, parentBaseline: 1))
    }
}

@Suite struct PodStatsTests {
    @Test func interfacesComeFromNetDevWithoutLoopback() {
        let text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0
              eth0: 1234567    900    2    0    0     0          0         0   765432     800    1    0    0     0       0          0
            """
        #expect(NetworkInterface.parse(text) == [NetworkInterface(name: "eth0", rxBytes: 1234567, rxPackets: 900, rxErrors: 2, txBytes: 765432, txPackets: 800, txErrors: 1)])
    }

    @Test func containersAddUpWhereTheyHaveAFigure() {
        var a = ContainerStats(timestamp: 1, writableLayerPath: "")
        a.cpuUsageNanoseconds = 5
        a.memoryRSS = 100
        var b = ContainerStats(timestamp: 1, writableLayerPath: "")
        b.cpuUsageNanoseconds = 7
        let sum = ContainerStats.sum([a, b])
        #expect(sum.cpuUsageNanoseconds == 12 && sum.memoryRSS == 100 && sum.memoryUsage == nil)
    }
}
