#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import LinuxKit

/// One sample of a container's usage, from its cgroup v2 files and its writable layer. A figure the
/// node cannot give (a tree without the memory controller has no memory.current) is nil: left out
/// of the reply, never invented.
public struct ContainerStats: Sendable, Equatable {
    public var timestamp: Int64
    public var cpuUsageNanoseconds: UInt64?
    public var memoryUsage: UInt64?
    public var memoryWorkingSet: UInt64?
    public var memoryAvailable: UInt64?
    public var memoryRSS: UInt64?
    public var pageFaults: UInt64?
    public var majorPageFaults: UInt64?
    public var writableLayer: DiskUsage?
    public var writableLayerPath: String

    /// `key value` lines (cpu.stat, memory.stat) as numbers.
    static func fields(_ text: String?) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in (text ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { out[String(parts[0])] = value }
        }
        return out
    }

    /// Whether the kernel's OOM killer ended a process of the cgroup (`oom_kill` in memory.events),
    /// which makes an exit's reason OOMKilled. Read before the runtime's delete removes the cgroup.
    static func oomKilled(cgroup: String?, parentBaseline: UInt64? = nil) -> Bool {
        guard let cgroup else { return false }
        if let kills = oomKills(cgroup) { return kills > 0 }
        // The cgroup is gone already: a systemd scope is removed as soon as it is empty. The
        // parent's memory.events counts its descendants' kills; more than when the container
        // started means this one (or, rarely, a sibling at the same moment) was killed.
        guard let parentBaseline, let parent = parentOOMKills(cgroup) else { return false }
        return parent > parentBaseline
    }

    /// `oom_kill` of the cgroup's parent: the baseline taken at start, and the judgement at exit.
    static func parentOOMKills(_ cgroup: String) -> UInt64? {
        cgroup.lastIndex(of: "/").flatMap { oomKills(String(cgroup[..<$0])) }
    }

    /// `oom_kill` of a cgroup's memory.events (hierarchical: its descendants' kills included).
    static func oomKills(_ cgroup: String) -> UInt64? {
        guard let bytes = try? AtomicFile.read(cgroup + "/memory.events", limit: 4096) else { return nil }
        return fields(String(decoding: bytes, as: UTF8.self))["oom_kill"] ?? 0
    }

    /// Reads the files of `cgroup` (a directory) and measures `upper`.
    static func sample(cgroup: String?, upper: String) -> ContainerStats {
        func read(_ name: String) -> String? {
            guard let cgroup, let bytes = try? AtomicFile.read(cgroup + "/" + name, limit: 1 << 20) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        var stats = ContainerStats(timestamp: WallClock.nanoseconds(), writableLayerPath: upper)
        stats.cpuUsageNanoseconds = fields(read("cpu.stat"))["usage_usec"].map { $0 * 1000 }
        if let current = read("memory.current").flatMap({ UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            let memory = fields(read("memory.stat"))
            stats.memoryUsage = current
            // The kubelet's working set: usage less what the kernel can drop at once.
            let workingSet = current - min(current, memory["inactive_file"] ?? 0)
            stats.memoryWorkingSet = workingSet
            stats.memoryRSS = memory["anon"]
            stats.pageFaults = memory["pgfault"]
            stats.majorPageFaults = memory["pgmajfault"]
            if let max = read("memory.max").flatMap({ UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                stats.memoryAvailable = max > workingSet ? max - workingSet : 0
            }
        } else if let procs = read("cgroup.procs") {
            // No memory controller in this tree: the processes' own counters (resident set and
            // fault counts of those alive now, as ps shows them) instead of the cgroup's. Usage
            // and working set need the controller's page accounting and are left out.
            let pids = procs.split(separator: "\n").compactMap { Int32($0) }
            stats.memoryRSS = 0
            stats.pageFaults = 0
            stats.majorPageFaults = 0
            for pid in pids {
                guard let sample = ProcessMemory.read(pid) else { continue }
                stats.memoryRSS! += sample.rss
                stats.pageFaults! += sample.minorFaults + sample.majorFaults
                stats.majorPageFaults! += sample.majorFaults
            }
        }
        stats.writableLayer = try? DiskUsage.measure(upper)
        return stats
    }
}

/// One process's resident set and page faults, from /proc.
struct ProcessMemory {
    var rss: UInt64
    var minorFaults: UInt64
    var majorFaults: UInt64

    static func read(_ pid: Int32) -> ProcessMemory? {
        // /proc/<pid>/stat: "pid (comm) state ..." — comm may hold spaces, so fields count from
        // after its closing parenthesis: minflt is the 10th field overall, majflt the 12th, rss
        // (pages) the 24th.
        guard let bytes = try? AtomicFile.read("/proc/\(pid)/stat", limit: 4096),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = String(decoding: bytes[(close + 1)...], as: UTF8.self).split(separator: " ")
        guard fields.count > 21, let minor = UInt64(fields[7]), let major = UInt64(fields[9]), let pages = UInt64(fields[21]) else { return nil }
        return ProcessMemory(rss: pages * UInt64(sysconf(Int32(_SC_PAGESIZE))), minorFaults: minor, majorFaults: major)
    }
}

extension Containers {
    /// ContainerStats: the record (for its attributes) and a sample of its usage.
    public func stats(_ id: String) throws -> (CRIContainer, ContainerStats) {
        let record = try status(id)
        return (record, sample(record))
    }

    /// ListContainerStats: every running container's.
    public func allStats() -> [(CRIContainer, ContainerStats)] {
        list().filter { $0.state == .running }.map { ($0, sample($0)) }
    }

    func sample(_ record: CRIContainer) -> ContainerStats {
        ContainerStats.sample(cgroup: cgroupDirectory(record), upper: paths.root + "/" + record.id + "/upper")
    }

    /// The container's cgroup v2 directory (cgroupfs paths; nil where it cannot be known).
    func cgroupDirectory(_ record: CRIContainer) -> String? {
        guard let path = record.cgroupsPath, let tree = try? CgroupV2.mounted() else { return nil }
        if path.contains(":") {
            // The systemd driver's slice:prefix:name: the scope's directory in its slice.
            return (try? SystemdScope(cgroupsPath: path, id: record.id)).map { tree.root + $0.relativePath }
        }
        return try? tree.directory(for: path, id: record.id)
    }
}
