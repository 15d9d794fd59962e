#if canImport(Glibc)
import Glibc
#endif
import CShims
import OCI

/// An OCI `linux.seccomp` profile compiled to a BPF program, in the parent, before clone: the
/// container's init only loads it (invariant 2).
public final class SeccompProgram: @unchecked Sendable {
    public let bytes: UnsafeMutableRawPointer
    public let length: Int
    public let flags: UInt32
    /// Syscall names the kernel headers do not know, skipped as runc skips them.
    public let unknownSyscalls: [String]

    /// Instructions (struct sock_filter is 8 bytes).
    public var instructionCount: UInt16 { UInt16(clamping: length / 8) }

    init(bytes: UnsafeMutableRawPointer, length: Int, flags: UInt32, unknown: [String]) {
        self.bytes = bytes
        self.length = length
        self.flags = flags
        unknownSyscalls = unknown
    }

    deinit { free(bytes) }

    /// Why a profile cannot be compiled; `field` is its config.json path.
    public struct Invalid: Error, Equatable, Sendable {
        public let field: String
        public let reason: String
    }

    static let operators: [String: UInt32] = [
        "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
        "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
    ]
    static let filterFlags: [String: UInt32] = [
        "SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2, "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
    ]

    /// What `features` reports: the names `compile` accepts.
    public static let actionNames = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                     "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]
    public static var operatorNames: [String] { operators.keys.sorted() }
    public static var flagNames: [String] { filterFlags.keys.sorted() }
    public static let architectureNames = ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                                           "SCMP_ARCH_ARM", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64"]

    /// The libseccomp action value of an OCI action name.
    static func action(_ name: String, errno: UInt32?, field: String) throws(Invalid) -> UInt32 {
        switch name {
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        default: throw Invalid(field: field, reason: "action '\(name)' is not supported")
        }
    }

    public static func compile(_ profile: RuntimeSpec.Seccomp) throws(Invalid) -> SeccompProgram {
        let base = "linux.seccomp"
        let defaultAction = try action(profile.defaultAction, errno: profile.defaultErrnoRet, field: base + ".defaultAction")
        guard let ctx = cs_seccomp_new(defaultAction) else { throw Invalid(field: base, reason: "libseccomp refused the default action") }
        defer { cs_seccomp_free(ctx) }
        var flags: UInt32 = 0
        for (i, flag) in (profile.flags ?? []).enumerated() {
            guard let bit = filterFlags[flag] else { throw Invalid(field: base + ".flags[\(i)]", reason: "'\(flag)' is not supported") }
            flags |= bit
        }
        for (i, arch) in (profile.architectures ?? []).enumerated() {
            let name = arch.hasPrefix("SCMP_ARCH_") ? String(arch.dropFirst(10)).lowercased() : arch.lowercased()
            // Architectures this kernel cannot run (e.g. aarch64 on x86_64) are left out, as runc does.
            let rc = cs_seccomp_add_arch(ctx, name)
            if rc != 0 && rc != -EINVAL && rc != -EDOM {
                throw Invalid(field: base + ".architectures[\(i)]", reason: "'\(arch)' cannot be added")
            }
        }
        var unknown: [String] = []
        for (i, rule) in (profile.syscalls ?? []).enumerated() {
            let field = base + ".syscalls[\(i)]"
            let act = try action(rule.action, errno: rule.errnoRet ?? profile.defaultErrnoRet, field: field + ".action")
            // A rule that repeats the default action is refused by libseccomp and changes nothing.
            if act == defaultAction { continue }
            var args: [cs_seccomp_arg] = []
            for (j, arg) in (rule.args ?? []).enumerated() {
                guard let op = operators[arg.op], arg.index < 6 else {
                    throw Invalid(field: field + ".args[\(j)]", reason: "bad operator or index")
                }
                args.append(cs_seccomp_arg(index: arg.index, op: op, value: arg.value, value_two: arg.valueTwo ?? 0))
            }
            for name in rule.names {
                let nr = cs_seccomp_syscall_number(name)
                guard nr >= 0 else { unknown.append(name); continue }
                let rc = args.withUnsafeBufferPointer { cs_seccomp_add_rule(ctx, act, nr, UInt32($0.count), $0.baseAddress) }
                guard rc == 0 else {
                    throw Invalid(field: field, reason: "rule for \(name) refused: \(String(cString: strerror(-rc)))")
                }
            }
        }
        var out: UnsafeMutableRawPointer?
        var length = 0
        guard cs_seccomp_export(ctx, &out, &length) == 0, let out else {
            throw Invalid(field: base, reason: "cannot export the BPF program")
        }
        guard length / 8 <= Int(UInt16.max) else {
            free(out)
            throw Invalid(field: base, reason: "the BPF program is too long")
        }
        return SeccompProgram(bytes: out, length: length, flags: flags, unknown: unknown)
    }
}
