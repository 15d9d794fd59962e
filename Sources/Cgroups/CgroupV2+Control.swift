#if canImport(Glibc)
import Glibc
#endif
import LinuxKit

/// Freezing and reading a container's cgroup: `pause`/`resume`, `events`, `state`.
extension CgroupV2 {
    /// Writes cgroup.freeze and waits until cgroup.events says the whole cgroup got there: the
    /// kernel stops (or wakes) the tasks one by one, and `pause` must not return before they all are.
    public func setFrozen(_ dir: String, _ frozen: Bool, timeout: Int = 10_000) throws(CgroupError) {
        try write(dir + "/cgroup.freeze", frozen ? "1" : "0")
        let wanted: UInt64 = frozen ? 1 : 0
        for _ in 0..<(timeout / 10) {
            if keyValues(dir + "/cgroup.events")["frozen"] == wanted { return }
            usleep(10_000)
        }
        throw CgroupError("\(dir) did not \(frozen ? "freeze" : "thaw") within \(timeout / 1000) s")
    }

    /// Whether the cgroup is asked to be frozen (cgroup.freeze is 1).
    public func isFrozen(_ dir: String) -> Bool {
        (try? AtomicFile.read(dir + "/cgroup.freeze")).map { $0.first == UInt8(ascii: "1") } ?? false
    }

    /// "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events) as numbers.
    public func keyValues(_ path: String) -> [String: UInt64] {
        guard let bytes = try? AtomicFile.read(path) else { return [:] }
        var out: [String: UInt64] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = UInt64(fields[1]) { out[String(fields[0])] = value }
        }
        return out
    }

    /// A single-value file: a number, `max` as nil, missing as nil.
    public func number(_ path: String) -> UInt64? {
        guard let bytes = try? AtomicFile.read(path) else { return nil }
        return UInt64(String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
    }

    /// What `events` reports, read from the v2 interface files (absent controllers read as zero).
    public func stats(_ dir: String) -> CgroupStats {
        let cpu = keyValues(dir + "/cpu.stat")
        let memoryEvents = keyValues(dir + "/memory.events")
        return CgroupStats(
            cpuUsageNanoseconds: (cpu["usage_usec"] ?? 0) * 1000, cpuUserNanoseconds: (cpu["user_usec"] ?? 0) * 1000,
            cpuSystemNanoseconds: (cpu["system_usec"] ?? 0) * 1000, throttlingPeriods: cpu["nr_periods"] ?? 0,
            throttledPeriods: cpu["nr_throttled"] ?? 0, throttledNanoseconds: (cpu["throttled_usec"] ?? 0) * 1000,
            memoryUsage: number(dir + "/memory.current") ?? 0, memoryLimit: number(dir + "/memory.max"),
            memoryMaxUsage: number(dir + "/memory.peak") ?? 0, memoryFailCount: memoryEvents["max"] ?? 0,
            swapUsage: number(dir + "/memory.swap.current") ?? 0, swapLimit: number(dir + "/memory.swap.max"),
            memoryStat: keyValues(dir + "/memory.stat"), oomKills: memoryEvents["oom_kill"] ?? 0,
            pidsCurrent: number(dir + "/pids.current") ?? 0, pidsLimit: number(dir + "/pids.max"))
    }
}

/// A cgroup's usage; nil limits are `max`.
public struct CgroupStats: Equatable, Sendable {
    public var cpuUsageNanoseconds, cpuUserNanoseconds, cpuSystemNanoseconds: UInt64
    public var throttlingPeriods, throttledPeriods, throttledNanoseconds: UInt64
    public var memoryUsage: UInt64
    public var memoryLimit: UInt64?
    public var memoryMaxUsage, memoryFailCount, swapUsage: UInt64
    public var swapLimit: UInt64?
    public var memoryStat: [String: UInt64]
    public var oomKills: UInt64
    public var pidsCurrent: UInt64
    public var pidsLimit: UInt64?
}
