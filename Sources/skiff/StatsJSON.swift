import Cgroups

/// `events` data in runc's layout (its `types.Stats`), so tools written for runc read it: times in
/// nanoseconds, `max` limits as the largest uint64, swap as memory+swap (runc reports v2 that way).
struct StatsJSON: Encodable {
    struct CPU: Encodable {
        struct Usage: Encodable { let total, kernel, user: UInt64 }
        struct Throttling: Encodable { let periods, throttledPeriods, throttledTime: UInt64 }
        let usage: Usage
        let throttling: Throttling
    }

    struct MemoryEntry: Encodable { let limit, usage, max, failcnt: UInt64 }

    struct Memory: Encodable {
        let cache: UInt64
        let usage: MemoryEntry
        let swap: MemoryEntry
        let raw: [String: UInt64]
    }

    struct Pids: Encodable { let current, limit: UInt64 }

    let cpu: CPU
    let memory: Memory
    let pids: Pids

    init(_ s: CgroupStats) {
        cpu = CPU(usage: .init(total: s.cpuUsageNanoseconds, kernel: s.cpuSystemNanoseconds, user: s.cpuUserNanoseconds),
                  throttling: .init(periods: s.throttlingPeriods, throttledPeriods: s.throttledPeriods, throttledTime: s.throttledNanoseconds))
        let memoryLimit = s.memoryLimit ?? .max
        let swapLimit = s.swapLimit.map { memoryLimit == .max ? .max : $0 &+ memoryLimit } ?? .max
        memory = Memory(cache: s.memoryStat["file"] ?? 0,
                        usage: .init(limit: memoryLimit, usage: s.memoryUsage, max: s.memoryMaxUsage, failcnt: s.memoryFailCount),
                        swap: .init(limit: swapLimit, usage: s.swapUsage + s.memoryUsage, max: 0, failcnt: 0),
                        raw: s.memoryStat)
        pids = Pids(current: s.pidsCurrent, limit: s.pidsLimit ?? 0)
    }
}
