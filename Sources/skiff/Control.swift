#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Cgroups
import JSONCoding
import LinuxKit
import OCI
import RuntimeEngine

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Freeze every process of a container.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String

    func run() throws { try global.run { try $0.pause(id: id) } }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Thaw a paused container.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String

    func run() throws { try global.run { try $0.resume(id: id) } }
}

/// runc's `update`: `-r FILE` (or `-` for stdin) with an OCI `linux.resources` object, or flags.
struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a running container's resource limits.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "JSON file with linux.resources ('-' reads stdin); the other flags are then ignored.")
    var resources: String?
    @Option(help: "Block IO weight (10-1000).") var blkioWeight: UInt16?
    @Option(help: "CPU CFS period in microseconds.") var cpuPeriod: UInt64?
    @Option(help: "CPU CFS quota in microseconds.") var cpuQuota: Int64?
    @Option(help: "CPU shares (relative weight).") var cpuShare: UInt64?
    @Option(help: "Realtime period (not available on cgroup v2).") var cpuRtPeriod: UInt64?
    @Option(help: "Realtime runtime (not available on cgroup v2).") var cpuRtRuntime: Int64?
    @Option(help: "CPUs allowed (0-3, 0,1).") var cpusetCpus: String?
    @Option(help: "Memory nodes allowed.") var cpusetMems: String?
    @Option(help: "Memory limit (bytes, or with a unit: 512m, 1g).") var memory: String?
    @Option(help: "Memory soft limit.") var memoryReservation: String?
    @Option(help: "Memory plus swap limit; -1 for unlimited.") var memorySwap: String?
    @Option(help: "Maximum number of processes; -1 for unlimited.") var pidsLimit: Int64?
    @Option(help: .hidden) var kernelMemory: String?
    @Option(help: .hidden) var kernelMemoryTcp: String?
    @Option(help: "Intel RDT L3 cache schema (not supported).") var l3CacheSchema: String?
    @Option(help: "Intel RDT memory bandwidth schema (not supported).") var memBwSchema: String?
    @Argument var id: String

    func run() throws {
        let context = try global.context()
        let parsed: RuntimeSpec.Resources
        do {
            parsed = try resources.map(Self.read) ?? fromFlags(context)
        } catch let error as UpdateError {
            throw context.failure(error.message)
        }
        try context.run { try $0.update(id: id, resources: parsed) }
    }

    struct UpdateError: Error { let message: String }

    static func read(_ path: String) throws -> RuntimeSpec.Resources {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path == "-" ? "/dev/stdin" : path) } catch {
            throw UpdateError(message: "cannot read resources from \(path): \(error)")
        }
        do { return try JSONDecoding.decode(RuntimeSpec.Resources.self, from: bytes, rejectingNUL: true) } catch {
            throw UpdateError(message: "invalid resources JSON: \(error)")
        }
    }

    func fromFlags(_ context: RuntimeContext) throws -> RuntimeSpec.Resources {
        if l3CacheSchema != nil || memBwSchema != nil { throw UpdateError(message: "Intel RDT is not supported by skiff") }
        if kernelMemory != nil || kernelMemoryTcp != nil { context.log.write(level: "warning", "Kernel memory settings are ignored and will be removed") }
        var r = RuntimeSpec.Resources()
        if memory != nil || memoryReservation != nil || memorySwap != nil {
            var m = RuntimeSpec.Memory()
            m.limit = try memory.map(Self.bytes)
            m.reservation = try memoryReservation.map(Self.bytes)
            m.swap = try memorySwap.map(Self.bytes)
            r.memory = m
        }
        if cpuPeriod != nil || cpuQuota != nil || cpuShare != nil || cpusetCpus != nil || cpusetMems != nil || cpuRtPeriod != nil || cpuRtRuntime != nil {
            var c = RuntimeSpec.CPU(shares: cpuShare, quota: cpuQuota, period: cpuPeriod, cpus: cpusetCpus)
            c.mems = cpusetMems
            c.realtimePeriod = cpuRtPeriod
            c.realtimeRuntime = cpuRtRuntime
            r.cpu = c
        }
        if let pidsLimit { r.pids = RuntimeSpec.Pids(limit: pidsLimit) }
        if let blkioWeight { r.blockIO = RuntimeSpec.BlockIO(weight: blkioWeight) }
        return r
    }

    /// Sizes as runc (docker's RAMInBytes) reads them: a number with an optional b, k, m, g, t or p
    /// (binary multiples, an optional trailing "b" or "ib"); -1 passes through.
    static func bytes(_ text: String) throws -> Int64 {
        if text == "-1" { return -1 }
        let lower = text.lowercased()
        let digits = lower.prefix { $0.isNumber || $0 == "." }
        var unit = lower.dropFirst(digits.count)
        if unit.hasSuffix("ib") { unit = unit.dropLast(2) } else if unit.count == 2, unit.hasSuffix("b") { unit = unit.dropLast() }
        let scale: [Substring: Double] = ["": 1, "b": 1, "k": 0x1p10, "m": 0x1p20, "g": 0x1p30, "t": 0x1p40, "p": 0x1p50]
        guard let number = Double(digits), let multiplier = scale[unit], number >= 0, number * multiplier < 9.2e18 else {
            throw UpdateError(message: "invalid size '\(text)'")
        }
        return Int64(number * multiplier)
    }
}

/// runc's `events`: with `--stats` one line of usage; otherwise usage every `--interval` and an
/// `oom` line whenever the kernel OOM-kills a process of the container, until it stops.
struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Print a container's usage and OOM events as JSON lines.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print usage once and exit.") var stats = false
    @Option(help: "Time between usage lines (5s, 500ms).") var interval = "5s"
    @Argument var id: String

    struct Event<T: Encodable>: Encodable {
        let type: String
        let id: String
        let data: T?
    }

    func run() throws {
        let context = try global.context()
        guard let period = Self.milliseconds(interval), period > 0 else { throw context.failure("invalid interval '\(interval)'") }
        var usage = try context.run { try $0.stats(id: id) }
        try emit(Event(type: "stats", id: id, data: StatsJSON(usage)))
        if stats { return }
        let runtime = context.runtime()
        var oomKills = usage.oomKills
        while true {
            for _ in 0..<max(1, period / 100) {
                usleep(100_000)
                guard let now = try? runtime.stats(id: id) else { return }
                if now.oomKills > oomKills { try emit(Event<StatsJSON>(type: "oom", id: id, data: nil)) }
                oomKills = now.oomKills
                usage = now
            }
            try emit(Event(type: "stats", id: id, data: StatsJSON(usage)))
        }
    }

    /// One JSON line, written at once: a reader of the pipe sees each event as it happens.
    func emit<T: Encodable>(_ event: Event<T>) throws {
        var line = Array((try JSONOutput.compact(event) + "\n").utf8)
        _ = line.withUnsafeMutableBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }

    static func milliseconds(_ text: String) -> Int? {
        for (suffix, scale) in [("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { Int($0 * scale) }
        }
        return nil
    }
}
