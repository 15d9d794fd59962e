import OCI
import SystemdBus

/// A container's cgroup under the systemd driver (`--systemd-cgroup`): a transient scope unit in a
/// slice, named from `cgroupsPath` as runc names it (`slice:prefix:name` → `prefix-name.scope` in
/// `slice`), with Delegate=yes so the runtime may manage what is below it. Pure: the unit, its
/// cgroup directory and its properties are unit-tested; `SystemdManager` does the D-Bus calls.
public struct SystemdScope: Equatable, Sendable {
    public var slice: String
    public var unit: String

    /// From `slice:prefix:name`; an empty path is `system.slice:skiff:<id>`.
    public init(cgroupsPath: String?, id: String) throws(CgroupError) {
        let path = cgroupsPath ?? ""
        let parts = path.isEmpty ? ["", "skiff", id] : path.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw CgroupError("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got '\(path)'")
        }
        slice = parts[0].isEmpty ? "system.slice" : parts[0]
        for part in parts where part.contains("/") || part.utf8.contains(0) {
            throw CgroupError("cgroupsPath '\(path)': '\(part)' is not a unit name")
        }
        guard !parts[2].isEmpty, !parts[2].hasSuffix(".slice") else {
            throw CgroupError("cgroupsPath '\(path)': the name must be a container's, not a slice")
        }
        unit = (parts[1].isEmpty ? "" : parts[1] + "-") + parts[2] + ".scope"
        _ = try Self.expand(slice)
    }

    /// systemd's slice nesting by dashes: `a-b-c.slice` lives in `/a.slice/a-b.slice/a-b-c.slice`.
    public static func expand(_ slice: String) throws(CgroupError) -> String {
        guard slice.hasSuffix(".slice"), !slice.contains("/") else { throw CgroupError("'\(slice)' is not a slice name") }
        if slice == "-.slice" { return "" }
        let name = slice.dropLast(6)
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard !parts.contains(where: \.isEmpty) else { throw CgroupError("'\(slice)' is not a valid slice name") }
        var path = "", prefix = ""
        for part in parts {
            prefix += (prefix.isEmpty ? "" : "-") + part
            path += "/" + prefix + ".slice"
        }
        return path
    }

    /// The scope's cgroup, relative to the v2 mount.
    public var relativePath: String { ((try? Self.expand(slice)) ?? "") + "/" + unit }

    /// What the scope starts with: the container's init in it, delegated, accounting on.
    public func startProperties(pid: Int32) -> [(String, DBusValue)] {
        [("Description", .string("skiff container \(unit)")), ("Slice", .string(slice)), ("Delegate", .bool(true)),
         ("PIDs", .uint32Array([UInt32(bitPattern: pid)])), ("DefaultDependencies", .bool(false)),
         ("MemoryAccounting", .bool(true)), ("CPUAccounting", .bool(true)), ("IOAccounting", .bool(true)),
         ("TasksAccounting", .bool(true))]
    }

    /// The limits systemd knows as unit properties, so a `systemctl daemon-reload` re-applies ours
    /// instead of resetting them. The same values are written to the cgroup files too.
    public static func properties(_ r: RuntimeSpec.Resources?) -> [(String, DBusValue)] {
        guard let r else { return [] }
        var out: [(String, DBusValue)] = []
        if let m = r.memory {
            if let limit = m.limit, limit != 0 { out.append(("MemoryMax", .uint64(limit < 0 ? .max : UInt64(limit)))) }
            if let low = m.reservation, low > 0 { out.append(("MemoryLow", .uint64(UInt64(low)))) }
            if let swap = m.swap, let value = try? CgroupResources.swapMax(swap: swap, limit: m.limit ?? 0) {
                out.append(("MemorySwapMax", .uint64(value == "max" ? .max : UInt64(value) ?? .max)))
            }
        }
        if let c = r.cpu {
            if let shares = c.shares, shares > 0 {
                let clamped = min(max(shares, 2), 262_144)
                out.append(("CPUWeight", .uint64(1 + ((clamped - 2) * 9999) / 262_142)))
            }
            if c.quota != nil || c.period != nil {
                let period = c.period ?? 100_000
                out.append(("CPUQuotaPeriodUSec", .uint64(period)))
                // Per second, rounded up to systemd's 10 ms granularity (as runc does).
                if let quota = c.quota, quota > 0, period > 0 {
                    let perSecond = (UInt64(quota) * 1_000_000 + period - 1) / period
                    out.append(("CPUQuotaPerSecUSec", .uint64((perSecond + 9_999) / 10_000 * 10_000)))
                } else {
                    out.append(("CPUQuotaPerSecUSec", .uint64(.max)))
                }
            }
        }
        if let p = r.pids, p.limit != 0 { out.append(("TasksMax", .uint64(p.limit < 0 ? .max : UInt64(p.limit)))) }
        return out
    }
}
