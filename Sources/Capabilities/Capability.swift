/// Linux capability names as the OCI spec writes them (`CAP_NET_ADMIN`) and their bit numbers.
public enum Capability {
    /// In kernel order: the index is the capability number.
    public static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// An unknown capability name, reported with the set it appeared in.
    public struct Unknown: Error, Equatable, Sendable {
        public let name: String
    }

    /// The bit number of `name`; `CAP_` may be omitted and case does not matter, as in runc.
    public static func number(of name: String) -> Int? {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        return names.firstIndex(of: full)
    }

    /// A bit mask of `list`. Capabilities above `lastCap` (unknown to the running kernel) are
    /// skipped, as runc does, so a spec written for a newer kernel still runs.
    public static func mask(_ list: [String]?, lastCap: Int) throws(Unknown) -> UInt64 {
        var mask: UInt64 = 0
        for name in list ?? [] {
            guard let bit = number(of: name) else { throw Unknown(name: name) }
            if bit <= lastCap { mask |= 1 << UInt64(bit) }
        }
        return mask
    }

    /// Names of the bits set in `mask`, for reports and the probe.
    public static func list(_ mask: UInt64) -> [String] {
        names.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }
}
