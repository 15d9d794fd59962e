extension RuntimeSpec {
    /// The config.json `skiff spec` prints: a busybox-style shell in its own namespaces with the
    /// usual kernel filesystems, masked and read-only paths and a small capability set, like runc's.
    public static func defaultSpec() -> RuntimeSpec {
        var spec = RuntimeSpec()
        var process = Process(args: ["sh"], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"])
        var caps = Capabilities()
        let defaults = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        caps.bounding = defaults
        caps.effective = defaults
        caps.permitted = defaults
        process.capabilities = caps
        process.rlimits = [Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)]
        process.noNewPrivileges = true
        spec.process = process
        spec.root = Root(path: "rootfs", readonly: true)
        spec.hostname = "skiff"
        spec.mounts = [
            Mount(destination: "/proc", type: "proc", source: "proc"),
            Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount(destination: "/dev/pts", type: "devpts", source: "devpts",
                  options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            Mount(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        ]
        var linux = Linux()
        linux.namespaces = ["pid", "network", "ipc", "uts", "mount", "cgroup"].map { Namespace(type: $0) }
        linux.maskedPaths = [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ]
        linux.readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        spec.linux = linux
        return spec
    }
}
