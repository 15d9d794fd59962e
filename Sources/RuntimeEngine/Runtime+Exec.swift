#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import CShims
import LinuxKit
import OCI

extension Runtime {
    /// The namespaces an exec'd process joins, in the order setns needs: the user namespace first
    /// (it grants the rights to join the others), the mount namespace late.
    static let execNamespaces: [(name: String, flag: Int32)] = [
        ("user", CS_CLONE_NEWUSER), ("ipc", CS_CLONE_NEWIPC), ("uts", CS_CLONE_NEWUTS), ("net", CS_CLONE_NEWNET),
        ("pid", CS_CLONE_NEWPID), ("cgroup", CS_CLONE_NEWCGROUP), ("mnt", CS_CLONE_NEWNS),
    ]

    /// `exec`: starts `process` inside a running (or created) container: all of its namespaces,
    /// its cgroup, and the seccomp profile it was created with. Returns the new process's pid
    /// (host view) and a pidfd; this process becomes a child subreaper so it can wait for it.
    public func exec(id: String, process: RuntimeSpec.Process, preserveFDs: Int32 = 0,
                     consoleSocketFD: Int32 = -1) throws(RuntimeError) -> (pid: Int32, pidfd: Int32) {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .running || status == .created else {
            throw .wrongState(id: id, status: status.rawValue, operation: "exec in")
        }
        var (spec, _) = try Self.loadSpec(path: store.specPath(id))
        spec.process = process
        let lastCap = Self.lastCap()
        var plan = try SpawnPlan.build(spec, host: Self.host(bundle: record.bundle, lastCap: lastCap))
        plan.warnings.forEach(warn)
        try Self.checkConsole(terminal: plan.terminal, consoleSocketFD: consoleSocketFD)
        plan.stripToExec()
        let seccomp = try compileSeccomp(spec)

        var joinFDs: [Int32] = []
        var cgroupFD: Int32 = -1
        defer {
            joinFDs.forEach { close($0) }
            if cgroupFD >= 0 { close(cgroupFD) }
        }
        for namespace in Self.execNamespaces {
            let path = "/proc/\(record.pid)/ns/\(namespace.name)"
            var theirs = stat(), ours = stat()
            guard stat(path, &theirs) == 0, stat("/proc/self/ns/\(namespace.name)", &ours) == 0 else {
                if namespace.name == "cgroup" || namespace.name == "user" { continue } // kernels without them
                throw .system(SystemError("stat", path: path))
            }
            if theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .system(SystemError("open", path: path)) }
            joinFDs.append(fd)
            plan.joins.append(.init(flag: namespace.flag, path: path))
        }
        // The init may have exited between the status check and the opens: its namespaces then
        // belong to nobody we mean. Check again now that the fds pin them.
        guard store.status(of: record) != .stopped else { throw .wrongState(id: id, status: "stopped", operation: "exec in") }
        if let dir = record.cgroupPath {
            cgroupFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard cgroupFD >= 0 else { throw .system(SystemError("open", path: dir)) }
        }
        // The exec'd process is a grandchild (forked inside the pid namespace): as a subreaper
        // this process inherits it and can wait for its exit status.
        guard cs_prctl_set_child_subreaper() == 0 else { throw .system(SystemError("prctl(PR_SET_CHILD_SUBREAPER)")) }
        let spawner = Spawner(plan: plan, lastCap: lastCap, joinFDs: joinFDs, cgroupFD: cgroupFD, seccomp: seccomp,
                              preserveFDs: preserveFDs, consoleSocketFD: consoleSocketFD, execMode: true)
        return try spawner.spawn()
    }

    /// The process of the container's config.json: `exec` without `--process` starts from it.
    public func baseProcess(id: String) throws(RuntimeError) -> RuntimeSpec.Process {
        _ = try store.load(id)
        guard let process = try Self.loadSpec(path: store.specPath(id)).0.process else {
            throw .invalidSpec(field: "process", reason: "missing")
        }
        return process
    }

    /// Whether the bundle's process asks for a terminal (a foreground `run` then proxies it).
    public static func terminalRequested(bundle: String) -> Bool {
        guard let dir = try? absolute(bundle), let (spec, _) = try? loadSpec(path: dir + "/config.json") else { return false }
        return spec.process?.terminal ?? false
    }

    /// Pids of every process in the container's cgroup (`skiff ps`).
    public func processes(id: String) throws(RuntimeError) -> [Int32] {
        let record = try store.load(id)
        guard let dir = record.cgroupPath, let cgroups = try? CgroupV2.mounted() else { return [] }
        return cgroups.processes(dir)
    }
}

extension SpawnPlan {
    /// An exec joins what the init built: no new namespaces, mounts, devices or sysctls.
    mutating func stripToExec() {
        cloneFlags = 0
        joins = []
        uidMap = nil
        gidMap = nil
        mounts = []
        devices = []
        maskedPaths = []
        readonlyPaths = []
        hostname = nil
        domainname = nil
        sysctls = []
        oomScoreAdj = nil
        rootfsReadonly = false
        rootfsPropagation = 0
    }
}
