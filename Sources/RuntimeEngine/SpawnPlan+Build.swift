import Capabilities
import CShims
import OCI

extension SpawnPlan {
    /// What building a plan needs to know about the host; injected so tests need no root.
    public struct Host: Sendable {
        public var bundle: String
        public var lastCap: Int
        /// Whether a bind source is a directory (nil: it does not exist).
        public var isDirectory: @Sendable (String) -> Bool?
        /// Whether the kernel enforces AppArmor, and SELinux.
        public var appArmor: Bool
        public var seLinux: Bool

        public init(bundle: String, lastCap: Int, isDirectory: @escaping @Sendable (String) -> Bool?,
                    appArmor: Bool = false, seLinux: Bool = false) {
            self.bundle = bundle
            self.lastCap = lastCap
            self.isDirectory = isDirectory
            self.appArmor = appArmor
            self.seLinux = seLinux
        }
    }

    static let namespaceFlags: [String: Int32] = [
        "pid": CS_CLONE_NEWPID, "network": CS_CLONE_NEWNET, "mount": CS_CLONE_NEWNS, "ipc": CS_CLONE_NEWIPC,
        "uts": CS_CLONE_NEWUTS, "user": CS_CLONE_NEWUSER, "cgroup": CS_CLONE_NEWCGROUP,
    ]

    /// Builds the plan from config.json, validating every field it uses.
    public static func build(_ spec: RuntimeSpec, host: Host) throws(RuntimeError) -> SpawnPlan {
        var plan = SpawnPlan()
        guard let process = spec.process else { throw .invalidSpec(field: "process", reason: "missing") }
        guard let root = spec.root, !root.path.isEmpty else { throw .invalidSpec(field: "root.path", reason: "missing") }
        plan.rootfs = root.path.hasPrefix("/") ? root.path : host.bundle + "/" + root.path
        plan.rootfsReadonly = root.readonly ?? false
        let linux = spec.linux ?? RuntimeSpec.Linux()
        try plan.addNamespaces(linux)
        try plan.addProcess(process, host: host)
        try plan.addMounts(spec.mounts ?? [], host: host, linux: linux)
        try plan.addDevices(linux.devices ?? [])
        plan.maskedPaths = try absolutePaths(linux.maskedPaths, field: "linux.maskedPaths")
        plan.readonlyPaths = try absolutePaths(linux.readonlyPaths, field: "linux.readonlyPaths")
        if let propagation = linux.rootfsPropagation {
            guard let options = try? MountOptions([propagation]), options.propagation != 0 else {
                throw .invalidSpec(field: "linux.rootfsPropagation", reason: "'\(propagation)' is not a propagation mode")
            }
            plan.rootfsPropagation = options.propagation
        }
        if let hostname = spec.hostname, !hostname.isEmpty {
            guard plan.cloneFlags & CS_CLONE_NEWUTS != 0 else {
                throw .invalidSpec(field: "hostname", reason: "needs a new uts namespace")
            }
            plan.hostname = hostname
        }
        if let domainname = spec.domainname, !domainname.isEmpty {
            guard plan.cloneFlags & CS_CLONE_NEWUTS != 0 else {
                throw .invalidSpec(field: "domainname", reason: "needs a new uts namespace")
            }
            plan.domainname = domainname
        }
        plan.sysctls = try SysctlPolicy.validate(linux.sysctl ?? [:], plan: plan)
        return plan
    }

    private mutating func addNamespaces(_ linux: RuntimeSpec.Linux) throws(RuntimeError) {
        var seen = Set<String>()
        for (index, ns) in (linux.namespaces ?? []).enumerated() {
            let field = "linux.namespaces[\(index)]"
            guard let flag = Self.namespaceFlags[ns.type] else {
                throw .invalidSpec(field: field, reason: "namespace type '\(ns.type)' is not supported")
            }
            guard seen.insert(ns.type).inserted else { throw .invalidSpec(field: field, reason: "duplicate \(ns.type)") }
            if let path = ns.path, !path.isEmpty {
                guard path.hasPrefix("/") else { throw .invalidSpec(field: field + ".path", reason: "must be absolute") }
                joins.append(Join(flag: flag, path: path))
            } else {
                cloneFlags |= flag
            }
        }
        // A joined user namespace must be entered before any other: it owns them.
        joins.sort { a, _ in a.flag == CS_CLONE_NEWUSER }
        guard cloneFlags & CS_CLONE_NEWNS != 0 else {
            throw .invalidSpec(field: "linux.namespaces", reason: "a new mount namespace is required")
        }
        let hasMappings = !(linux.uidMappings ?? []).isEmpty || !(linux.gidMappings ?? []).isEmpty
        if cloneFlags & CS_CLONE_NEWUSER != 0 {
            guard let uids = linux.uidMappings, !uids.isEmpty, let gids = linux.gidMappings, !gids.isEmpty else {
                throw .invalidSpec(field: "linux.uidMappings", reason: "a new user namespace needs uid and gid mappings")
            }
            uidMap = uids.map { $0.line + "\n" }.joined()
            gidMap = gids.map { $0.line + "\n" }.joined()
            bindDevices = true
        } else if createsAfterJoin {
            bindDevices = true
        } else if hasMappings {
            throw .invalidSpec(field: "linux.uidMappings", reason: "mappings need a user namespace")
        }
    }

    private mutating func addProcess(_ process: RuntimeSpec.Process, host: Host) throws(RuntimeError) {
        let lastCap = host.lastCap
        guard let args = process.args, let first = args.first, !first.isEmpty else {
            throw .invalidSpec(field: "process.args", reason: "must name a program")
        }
        guard process.cwd.hasPrefix("/") else { throw .invalidSpec(field: "process.cwd", reason: "must be absolute") }
        terminal = process.terminal ?? false
        for (index, entry) in (process.env ?? []).enumerated() where !entry.contains("=") || entry.hasPrefix("=") {
            throw .invalidSpec(field: "process.env[\(index)]", reason: "'\(entry)' is not NAME=value")
        }
        // As runc: a profile is applied where AppArmor is enabled, and ignored where it is not
        // (containerd names one whenever its own host has AppArmor).
        if let profile = process.apparmorProfile, !profile.isEmpty {
            guard profile.utf8.count < 4000, !profile.contains(where: { $0 == "\n" || $0 == "\0" }) else {
                throw .invalidSpec(field: "process.apparmorProfile", reason: "'\(profile.prefix(64))' is not a profile name")
            }
            if host.appArmor {
                apparmorProfile = profile
            } else {
                warnings.append("AppArmor is not enabled on this host: process.apparmorProfile '\(profile)' is not applied")
            }
        }
        if let label = process.selinuxLabel, !label.isEmpty {
            guard !host.seLinux else { throw .invalidSpec(field: "process.selinuxLabel", reason: "SELinux labels are not supported by skiff") }
            warnings.append("SELinux is not enabled on this host: process.selinuxLabel is not applied")
        }
        self.args = args
        env = process.env ?? []
        cwd = process.cwd
        uid = process.user.uid
        gid = process.user.gid
        groups = process.user.additionalGids ?? []
        if let mask = process.user.umask {
            guard mask <= 0o777 else { throw .invalidSpec(field: "process.user.umask", reason: "\(mask) is not a umask") }
            umask = Int32(mask)
        }
        noNewPrivileges = process.noNewPrivileges ?? false
        if let adj = process.oomScoreAdj {
            guard (-1000...1000).contains(adj) else {
                throw .invalidSpec(field: "process.oomScoreAdj", reason: "\(adj) is outside -1000...1000")
            }
            oomScoreAdj = Int32(adj)
        }
        try addCapabilities(process.capabilities, lastCap: lastCap)
        rlimits = try RlimitTable.plan(process.rlimits ?? [])
    }

    private mutating func addCapabilities(_ caps: RuntimeSpec.Capabilities?, lastCap: Int) throws(RuntimeError) {
        func mask(_ list: [String]?, _ set: String) throws(RuntimeError) -> UInt64 {
            do {
                return try Capability.mask(list, lastCap: lastCap)
            } catch {
                throw .invalidSpec(field: "process.capabilities.\(set)", reason: "unknown capability '\(error.name)'")
            }
        }
        capBounding = try mask(caps?.bounding, "bounding")
        capEffective = try mask(caps?.effective, "effective")
        capPermitted = try mask(caps?.permitted, "permitted")
        capInheritable = try mask(caps?.inheritable, "inheritable")
        capAmbient = try mask(caps?.ambient, "ambient")
        // The kernel raises an ambient capability only when it is permitted and inheritable. runc
        // (since CVE-2022-29162 it leaves inheritable empty) warns and starts the container; so do we.
        let unraisable = capAmbient & ~(capPermitted & capInheritable)
        if unraisable != 0 {
            let names = Capability.list(unraisable)
            warnings.append("ambient capabilities not in the permitted and inheritable sets are not raised: \(names.joined(separator: ", "))")
            capAmbient &= ~unraisable
        }
    }

    static func absolutePaths(_ paths: [String]?, field: String) throws(RuntimeError) -> [String] {
        for (index, path) in (paths ?? []).enumerated() where !path.hasPrefix("/") || path.utf8.contains(0) {
            throw .invalidSpec(field: "\(field)[\(index)]", reason: "'\(path)' is not an absolute path")
        }
        return paths ?? []
    }
}
