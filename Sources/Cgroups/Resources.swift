import OCI

/// OCI `linux.resources` → cgroup v2 interface files, with runc's meanings (a zero swap means
/// "not set", swap is memory+swap, the kubelet's shares-to-weight formula). Fields v2 has no file
/// for are refused by name, or, where runc ignores them, reported in `warnings`. Pure, so each
/// conversion is unit-tested.
public enum CgroupResources {
    public static func files(_ r: RuntimeSpec.Resources?) throws(CgroupError) -> [CgroupFile] {
        guard let r else { return [] }
        var files: [CgroupFile] = []
        if let m = r.memory { files += try memory(m) }
        if let c = r.cpu { files += try cpu(c) }
        if let p = r.pids { files.append(CgroupFile("pids.max", p.limit > 0 ? String(p.limit) : "max")) }
        for limit in r.hugepageLimits ?? [] {
            files.append(CgroupFile("hugetlb.\(limit.pageSize).max", String(limit.limit)))
        }
        if let io = r.blockIO { files += try blockIO(io) }
        for key in (r.unified ?? [:]).keys.sorted() {
            guard !key.contains("/"), key != "..", key.contains(".") else {
                throw CgroupError("unified key '\(key)' is not a cgroup interface file")
            }
            files.append(CgroupFile(key, r.unified![key]!))
        }
        return files
    }

    /// What is accepted but has no effect on cgroup v2, as runc also ignores it.
    public static func warnings(_ r: RuntimeSpec.Resources?) -> [String] {
        var out: [String] = []
        if r?.memory?.kernel != nil { out.append("linux.resources.memory.kernel is ignored: kernel memory is not limited separately on cgroup v2") }
        if r?.memory?.swappiness != nil { out.append("linux.resources.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness") }
        if r?.blockIO?.leafWeight != nil || r?.blockIO?.weightDevice?.contains(where: { $0.leafWeight != nil }) == true {
            out.append("linux.resources.blockIO leafWeight is ignored: cgroup v2 has no leaf weights")
        }
        return out
    }

    static func memory(_ m: RuntimeSpec.Memory) throws(CgroupError) -> [CgroupFile] {
        var files: [CgroupFile] = []
        if let swap = m.swap, let value = try swapMax(swap: swap, limit: m.limit ?? 0) {
            files.append(CgroupFile("memory.swap.max", value))
        }
        if let limit = m.limit, limit != 0 { files.append(CgroupFile("memory.max", limit < 0 ? "max" : String(limit))) }
        if let low = m.reservation, low != 0 { files.append(CgroupFile("memory.low", low < 0 ? "max" : String(low))) }
        if m.disableOOMKiller == true { throw CgroupError("linux.resources.memory.disableOOMKiller is not available on cgroup v2") }
        return files
    }

    /// OCI's swap is memory+swap; v2's memory.swap.max is the swap part alone. As runc: 0 leaves
    /// it unset, -1 is unlimited, equal to the limit turns swap off, and below it is an error.
    static func swapMax(swap: Int64, limit: Int64) throws(CgroupError) -> String? {
        if limit == -1 && swap == 0 { return "max" }
        if swap == -1 { return "max" }
        if swap == 0 { return nil }
        guard limit != 0 && limit != -1 else { throw CgroupError("linux.resources.memory.swap needs a memory limit") }
        guard limit > 0 else { throw CgroupError("linux.resources.memory.limit \(limit) is not a limit") }
        guard swap >= limit else { throw CgroupError("linux.resources.memory.swap (memory+swap, \(swap)) is below the memory limit \(limit)") }
        return String(swap - limit)
    }

    static func cpu(_ c: RuntimeSpec.CPU) throws(CgroupError) -> [CgroupFile] {
        var files: [CgroupFile] = []
        if (c.realtimeRuntime ?? 0) != 0 || (c.realtimePeriod ?? 0) != 0 {
            throw CgroupError("linux.resources.cpu.realtimeRuntime and realtimePeriod are not available on cgroup v2")
        }
        if let idle = c.idle {
            guard idle == 0 || idle == 1 else { throw CgroupError("linux.resources.cpu.idle must be 0 or 1, not \(idle)") }
            files.append(CgroupFile("cpu.idle", String(idle)))
        }
        if let shares = c.shares, shares > 0 {
            // The kubelet's conversion: shares 2…262144 onto weight 1…10000.
            let clamped = min(max(shares, 2), 262_144)
            files.append(CgroupFile("cpu.weight", String(1 + ((clamped - 2) * 9999) / 262_142)))
        }
        if c.quota != nil || c.period != nil {
            let quota = c.quota.map { $0 > 0 ? String($0) : "max" } ?? "max"
            files.append(CgroupFile("cpu.max", "\(quota) \(c.period ?? 100_000)"))
        }
        if let cpus = c.cpus, !cpus.isEmpty { files.append(CgroupFile("cpuset.cpus", cpus)) }
        if let mems = c.mems, !mems.isEmpty { files.append(CgroupFile("cpuset.mems", mems)) }
        return files
    }

    static func blockIO(_ io: RuntimeSpec.BlockIO) throws(CgroupError) -> [CgroupFile] {
        var files: [CgroupFile] = []
        if let weight = io.weight, weight != 0 { files.append(CgroupFile("io.weight", "default \(try ioWeight(weight))")) }
        for device in io.weightDevice ?? [] {
            guard let weight = device.weight else { continue }
            files.append(CgroupFile("io.weight", "\(device.major):\(device.minor) \(try ioWeight(weight))"))
        }
        for (key, list) in [("rbps", io.throttleReadBpsDevice), ("wbps", io.throttleWriteBpsDevice),
                            ("riops", io.throttleReadIOPSDevice), ("wiops", io.throttleWriteIOPSDevice)] {
            for device in list ?? [] {
                files.append(CgroupFile("io.max", "\(device.major):\(device.minor) \(key)=\(device.rate)"))
            }
        }
        return files
    }

    /// blkio weights (10…1000) onto io.weight (1…10000), as runc converts them.
    static func ioWeight(_ weight: UInt16) throws(CgroupError) -> UInt64 {
        guard (10...1000).contains(weight) else { throw CgroupError("linux.resources.blockIO weight \(weight) is outside 10...1000") }
        return 1 + (UInt64(weight) - 10) * 9999 / 990
    }
}
