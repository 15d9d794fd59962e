import OCI

/// OCI `linux.resources` → cgroup v2 interface files. Pure, so each conversion is unit-tested.
public enum CgroupResources {
    public static func files(_ r: RuntimeSpec.Resources?) throws(CgroupError) -> [CgroupFile] {
        guard let r else { return [] }
        var files: [CgroupFile] = []
        if let m = r.memory {
            if let limit = m.limit { files.append(CgroupFile("memory.max", limit < 0 ? "max" : String(limit))) }
            if let low = m.reservation { files.append(CgroupFile("memory.low", low < 0 ? "max" : String(low))) }
            if let swap = m.swap {
                // OCI's swap is memory+swap; v2's swap.max is the swap part alone.
                let value = swap < 0 ? "max" : String(max(0, swap - (m.limit ?? 0)))
                files.append(CgroupFile("memory.swap.max", value))
            }
            if m.disableOOMKiller == true { throw CgroupError("disableOOMKiller is not available on cgroup v2") }
        }
        if let c = r.cpu {
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
        }
        if let p = r.pids { files.append(CgroupFile("pids.max", p.limit > 0 ? String(p.limit) : "max")) }
        for limit in r.hugepageLimits ?? [] {
            files.append(CgroupFile("hugetlb.\(limit.pageSize).max", String(limit.limit)))
        }
        if let io = r.blockIO {
            if let weight = io.weight { files.append(CgroupFile("io.weight", "default \(weight)")) }
            for (key, list) in [("rbps", io.throttleReadBpsDevice), ("wbps", io.throttleWriteBpsDevice),
                                ("riops", io.throttleReadIOPSDevice), ("wiops", io.throttleWriteIOPSDevice)] {
                for device in list ?? [] {
                    files.append(CgroupFile("io.max", "\(device.major):\(device.minor) \(key)=\(device.rate)"))
                }
            }
        }
        for key in (r.unified ?? [:]).keys.sorted() {
            guard !key.contains("/"), key != "..", key.contains(".") else {
                throw CgroupError("unified key '\(key)' is not a cgroup interface file")
            }
            files.append(CgroupFile(key, r.unified![key]!))
        }
        return files
    }
}
