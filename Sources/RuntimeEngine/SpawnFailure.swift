import CShims

/// Turns the child's `{stage, errno, index}` into a step name and the object it concerned.
enum SpawnFailure {
    static func error(_ report: cs_report, plan: SpawnPlan) -> RuntimeError {
        let index = Int(report.index)
        func item<T>(_ list: [T], _ describe: (T) -> String) -> String {
            list.indices.contains(index) ? describe(list[index]) : ""
        }
        let (step, detail): (String, String)
        switch cs_stage(UInt32(report.stage)) {
        case CS_STAGE_CLONE: (step, detail) = ("clone", "")
        case CS_STAGE_USERNS_MAP: (step, detail) = ("user namespace mapping", "")
        case CS_STAGE_SETNS: (step, detail) = ("joining a namespace", item(plan.joins) { $0.path })
        case CS_STAGE_STDIO: (step, detail) = ("stdio", "fd \(index)")
        case CS_STAGE_PROPAGATION: (step, detail) = ("mount propagation", "")
        case CS_STAGE_ROOTFS_BIND: (step, detail) = ("rootfs bind mount", plan.rootfs)
        case CS_STAGE_MOUNT_TARGET: (step, detail) = ("mount target", item(plan.mounts) { $0.target })
        case CS_STAGE_MOUNT: (step, detail) = ("mount", item(plan.mounts) { "\($0.fstype ?? "bind") on \($0.target)" })
        case CS_STAGE_MOUNT_PROPAGATION: (step, detail) = ("mount propagation", item(plan.mounts) { $0.target })
        case CS_STAGE_REMOUNT: (step, detail) = ("remount", item(plan.mounts) { $0.target })
        case CS_STAGE_DEVICE: (step, detail) = ("device node", item(plan.devices) { $0.path })
        case CS_STAGE_DEVICE_LINKS: (step, detail) = ("/dev symlinks", "")
        case CS_STAGE_PIVOT_ROOT: (step, detail) = ("pivot_root", plan.rootfs)
        case CS_STAGE_MASK: (step, detail) = ("masked path", item(plan.maskedPaths) { $0 })
        case CS_STAGE_READONLY_PATH: (step, detail) = ("read-only path", item(plan.readonlyPaths) { $0 })
        case CS_STAGE_ROOT_READONLY: (step, detail) = ("read-only root", "")
        case CS_STAGE_HOSTNAME: (step, detail) = ("hostname", plan.hostname ?? "")
        case CS_STAGE_DOMAINNAME: (step, detail) = ("domainname", plan.domainname ?? "")
        case CS_STAGE_SYSCTL: (step, detail) = ("sysctl", item(plan.sysctls) { $0.key })
        case CS_STAGE_RLIMIT: (step, detail) = ("rlimit", item(plan.rlimits) { "resource \($0.resource)" })
        case CS_STAGE_OOM_SCORE: (step, detail) = ("oom_score_adj", "")
        case CS_STAGE_CAP_BOUNDING: (step, detail) = ("capability bounding set", "cap \(index)")
        case CS_STAGE_GROUPS: (step, detail) = ("setgroups", "")
        case CS_STAGE_SETGID: (step, detail) = ("setgid", "\(plan.gid)")
        case CS_STAGE_SETUID: (step, detail) = ("setuid", "\(plan.uid)")
        case CS_STAGE_CAPSET, CS_STAGE_KEEPCAPS: (step, detail) = ("capabilities", "")
        case CS_STAGE_AMBIENT: (step, detail) = ("ambient capabilities", "cap \(index)")
        case CS_STAGE_NO_NEW_PRIVS: (step, detail) = ("no_new_privs", "")
        case CS_STAGE_CWD: (step, detail) = ("cwd", plan.cwd)
        case CS_STAGE_EXEC_LOOKUP: (step, detail) = ("executable lookup", plan.args.first ?? "")
        case CS_STAGE_SECCOMP: (step, detail) = ("seccomp", "")
        case CS_STAGE_EXEC: (step, detail) = ("exec", plan.args.first ?? "")
        case CS_STAGE_CLOSE_FDS: (step, detail) = ("closing descriptors", "")
        case CS_STAGE_FORK: (step, detail) = ("fork into the pid namespace", "")
        case CS_STAGE_TERMINAL: (step, detail) = ("terminal", ["/dev/pts/ptmx", "unlock", "peer", "/dev/console", "stdio", "controlling tty"][safe: index] ?? "")
        case CS_STAGE_CONSOLE_SOCKET: (step, detail) = ("sending the pty to the console socket", "")
        case CS_STAGE_HOOKS: (step, detail) = ("hooks", "")
        case CS_STAGE_CGROUP: (step, detail) = ("placing the process in its cgroup", "")
        case CS_STAGE_APPARMOR: (step, detail) = ("AppArmor profile", plan.apparmorProfile ?? "")
        default: (step, detail) = ("init (stage \(report.stage))", "")
        }
        return .spawn(step: step, detail: detail, errno: report.err)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
