import OCI

/// The profile `RuntimeDefault` means: every syscall is allowed except those a container only
/// needs with a capability it does not have, and those no container needs (kernel modules, kexec,
/// swap, keyrings, obsolete calls). The groups follow the capability gates of the default profiles
/// of Docker, containerd and CRI-O, so a workload that runs under theirs runs under this one.
///
/// It is a deny list, not their allow list: a syscall newer than this table is allowed. The
/// trade is deliberate while Skiff targets one architecture and kernel line; the refused set is what
/// stops the known container escapes (namespace creation, mount, module loading, ptrace of peers).
public enum RuntimeDefaultSeccomp {
    static let eperm: UInt32 = 1
    static let enosys: UInt32 = 38

    /// Refused whatever the container's capabilities.
    static let never = [
        "add_key", "keyctl", "request_key",                                // the kernel keyring is not namespaced
        "kexec_load", "kexec_file_load", "swapon", "swapoff",
        "create_module", "get_kernel_syms", "query_module", "nfsservctl", "uselib", "ustat", "_sysctl", "sysfs",
        "vm86", "vm86old", "afs_syscall", "tuxcall", "vserver", "security", "putpmsg", "getpmsg",
        "userfaultfd",                                                     // a classic race amplifier in exploits
        "io_uring_setup", "io_uring_enter", "io_uring_register",           // bypasses the syscall filter entirely
    ]

    /// Refused unless the container holds one of the capabilities.
    static let gated: [(unlockedBy: [String], syscalls: [String])] = [
        (["CAP_SYS_ADMIN"], ["mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig",
                           "fsmount", "fspick", "pivot_root", "unshare", "setns", "sethostname", "setdomainname",
                           "quotactl", "quotactl_fd", "lookup_dcookie", "fanotify_init", "name_to_handle_at"]),
        (["CAP_SYS_BOOT"], ["reboot"]),
        (["CAP_SYS_CHROOT"], ["chroot"]),
        (["CAP_SYS_MODULE"], ["init_module", "finit_module", "delete_module"]),
        (["CAP_SYS_PACCT"], ["acct"]),
        (["CAP_SYS_PTRACE"], ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise"]),
        (["CAP_SYS_RAWIO"], ["iopl", "ioperm"]),
        (["CAP_SYS_TIME"], ["settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64"]),
        (["CAP_SYS_TTY_CONFIG"], ["vhangup"]),
        (["CAP_SYS_NICE"], ["mbind", "set_mempolicy", "set_mempolicy_home_node", "move_pages"]),
        (["CAP_SYSLOG", "CAP_SYS_ADMIN"], ["syslog"]),
        (["CAP_BPF", "CAP_SYS_ADMIN"], ["bpf"]),
        (["CAP_PERFMON", "CAP_SYS_ADMIN"], ["perf_event_open"]),
        (["CAP_DAC_READ_SEARCH"], ["open_by_handle_at"]),
    ]

    /// clone's flags that make a namespace: refused without CAP_SYS_ADMIN (one rule per flag, each
    /// matching when its bit is set).
    static let namespaceFlags: [UInt64] = [
        0x0002_0000, // CLONE_NEWNS
        0x0200_0000, // CLONE_NEWCGROUP
        0x0400_0000, // CLONE_NEWUTS
        0x0800_0000, // CLONE_NEWIPC
        0x1000_0000, // CLONE_NEWUSER
        0x2000_0000, // CLONE_NEWPID
        0x4000_0000, // CLONE_NEWNET
    ]

    /// The profile for a container with `capabilities` (its bounding set, `CAP_` names).
    public static func profile(capabilities: [String]) -> RuntimeSpec.Seccomp {
        let held = Set(capabilities)
        let refused = never + gated.filter { held.isDisjoint(with: $0.unlockedBy) }.flatMap(\.syscalls)
        var rules = [RuntimeSpec.Syscall(names: refused, action: "SCMP_ACT_ERRNO", errnoRet: eperm)]
        if !held.contains("CAP_SYS_ADMIN") {
            rules += namespaceFlags.map { flag in
                RuntimeSpec.Syscall(names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: eperm,
                                    args: [RuntimeSpec.SyscallArg(index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ")])
            }
            // clone3 passes its flags in memory a filter cannot read: ENOSYS sends libc back to clone.
            rules.append(RuntimeSpec.Syscall(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: enosys))
        }
        // AF_VSOCK reaches the hypervisor, not the pod's network.
        rules.append(RuntimeSpec.Syscall(names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: eperm,
                                         args: [RuntimeSpec.SyscallArg(index: 0, value: 40, op: "SCMP_CMP_EQ")]))
        return RuntimeSpec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                                   syscalls: rules)
    }
}
