import Capabilities
import OCI

/// CRI container config + image config + pod → the OCI runtime spec the runtime gets. Pure: the
/// caller reads what is on disk (the image's passwd and group, a Localhost seccomp profile, the
/// host's device nodes) and passes it in, so every rule here is unit-tested.
public struct SpecBuilder: Sendable {
    public var users = UserDatabase()
    /// The profile RuntimeDefault means on this node; nil: the built-in one (RuntimeDefaultSeccomp),
    /// fitted to the container's capabilities.
    public var runtimeDefaultSeccomp: RuntimeSpec.Seccomp?
    /// What privileged and `ALL` grant: the capabilities the runtime itself holds (its bounding
    /// set), as containerd does; a capability the node lacks cannot be handed on.
    public var hostCapabilities: [String] = Capability.names
    /// A Localhost profile the caller loaded, by the path the config named.
    public var localhostSeccomp: [String: RuntimeSpec.Seccomp] = [:]
    /// The AppArmor profile RuntimeDefault means, loaded by the caller; nil where the node does
    /// not enforce AppArmor, and then no container gets a profile.
    public var appArmorDefault: String?

    public init(users: UserDatabase = UserDatabase(), runtimeDefaultSeccomp: RuntimeSpec.Seccomp? = nil) {
        self.users = users
        self.runtimeDefaultSeccomp = runtimeDefaultSeccomp
    }

    /// The capabilities containerd and CRI-O give a container that asks for nothing.
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    public func build(_ c: ContainerInput, image: ImageInput, sandbox: SandboxInput, rootfs: String) throws(SpecError) -> RuntimeSpec {
        var spec = RuntimeSpec.defaultSpec()
        spec.hostname = nil   // the pod's UTS namespace already has it
        spec.root = RuntimeSpec.Root(path: rootfs, readonly: c.security.readonlyRootfs)
        spec.process = try process(c, image: image)
        spec.mounts = try mounts(c, sandbox: sandbox)
        var linux = spec.linux ?? RuntimeSpec.Linux()
        linux.namespaces = namespaces(c, sandbox: sandbox)
        if let userns = sandbox.userNamespace {
            linux.uidMappings = userns.uids
            linux.gidMappings = userns.gids
        }
        linux.cgroupsPath = cgroupsPath(c, sandbox: sandbox)
        linux.resources = try resources(c)
        if c.mounts.contains(where: { $0.propagation == .bidirectional }) {
            linux.rootfsPropagation = "rshared"
        } else if c.mounts.contains(where: { $0.propagation == .hostToContainer }) {
            linux.rootfsPropagation = "rslave"
        }
        linux.devices = c.devices.map { RuntimeSpec.Device(type: $0.type, path: $0.containerPath, major: $0.major, minor: $0.minor) }
        linux.resources?.devices = [RuntimeSpec.DeviceRule(allow: false, access: "rwm")]
            + c.devices.map { RuntimeSpec.DeviceRule(allow: true, type: $0.type, major: $0.major, minor: $0.minor, access: $0.permissions) }
        if c.security.privileged {
            // Everything the host has, as with containerd: no masks, writable /sys, all devices.
            linux.maskedPaths = nil
            linux.readonlyPaths = nil
            linux.resources?.devices = [RuntimeSpec.DeviceRule(allow: true, access: "rwm")]
            spec.mounts = spec.mounts?.map { mount in
                var m = mount
                if m.destination == "/sys" || m.destination == "/sys/fs/cgroup" { m.options = m.options?.filter { $0 != "ro" } }
                return m
            }
        } else {
            if let masked = c.security.maskedPaths { linux.maskedPaths = masked }
            if let readonly = c.security.readonlyPaths { linux.readonlyPaths = readonly }
            linux.seccomp = try seccomp(c.security.seccomp, capabilities: spec.process?.capabilities?.bounding ?? [])
        }
        spec.linux = linux
        spec.annotations = c.annotations.merging([
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": c.name,
            "io.kubernetes.cri.sandbox-id": sandbox.id,
            "io.kubernetes.cri.sandbox-name": sandbox.name,
            "io.kubernetes.cri.sandbox-namespace": sandbox.namespace,
            "io.kubernetes.cri.sandbox-uid": sandbox.uid,
            "io.kubernetes.cri.image-name": image.reference,
        ]) { _, ours in ours }
        return spec
    }

    /// containerd's rule: the config's command replaces the image's entrypoint and then its cmd
    /// too; the config's args replace the image's cmd.
    func arguments(_ c: ContainerInput, image: ImageInput) throws(SpecError) -> [String] {
        var command = c.command, args = c.args
        if command.isEmpty {
            if args.isEmpty { args = image.cmd }
            command = image.entrypoint
        }
        let all = command + args
        guard !all.isEmpty else { throw .invalid(field: "command", reason: "neither the config nor the image names a program") }
        guard all.allSatisfy({ !$0.utf8.contains(0) }) else { throw .invalid(field: "command", reason: "contains NUL") }
        return all
    }

    func process(_ c: ContainerInput, image: ImageInput) throws(SpecError) -> RuntimeSpec.Process {
        var env: [String] = []
        var index: [String: Int] = [:]
        let pairs = image.env.map { entry -> (String, String) in
            let kv = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
        } + c.env.map { ($0.key, $0.value) }
        for (key, value) in pairs {
            guard !key.isEmpty, !key.contains("="), !key.utf8.contains(0), !value.utf8.contains(0) else {
                throw .invalid(field: "envs", reason: "\"\(key.prefix(64))\" is not a variable name")
            }
            if let at = index[key] { env[at] = key + "=" + value } else { index[key] = env.count; env.append(key + "=" + value) }
        }
        if index["PATH"] == nil { env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0) }
        if c.tty, index["TERM"] == nil { env.append("TERM=xterm") }
        let cwd = c.workingDir.isEmpty ? (image.workingDir.isEmpty ? "/" : image.workingDir) : c.workingDir
        guard cwd.hasPrefix("/"), !cwd.utf8.contains(0) else { throw .invalid(field: "working_dir", reason: "must be an absolute path") }
        var process = RuntimeSpec.Process(user: try user(c, image: image), args: try arguments(c, image: image), env: env, cwd: cwd)
        process.terminal = c.tty
        process.noNewPrivileges = c.security.noNewPrivileges
        process.capabilities = try capabilities(c.security)
        process.rlimits = nil
        if c.resources.oomScoreAdj != 0 {
            guard (-1000...1000).contains(c.resources.oomScoreAdj) else { throw .invalid(field: "oom_score_adj", reason: "-1000 to 1000") }
            process.oomScoreAdj = Int(c.resources.oomScoreAdj)
        }
        process.apparmorProfile = appArmorProfile(c.security)
        return process
    }

    /// The profile the process changes to: the default unless unconfined or privileged without
    /// asking, a Localhost profile by its name (without CRI's `localhost/` prefix).
    func appArmorProfile(_ s: ContainerInput.Security) -> String? {
        guard let appArmorDefault else { return nil }
        switch s.apparmor {
        case .unset: return s.privileged ? nil : appArmorDefault
        case .unconfined: return nil
        case .runtimeDefault: return appArmorDefault
        case .localhost(let name): return ContainerInput.AppArmorChoice.profileName(name)
        }
    }

    func user(_ c: ContainerInput, image: ImageInput) throws(SpecError) -> RuntimeSpec.User {
        let s = c.security
        var resolved: (uid: UInt32, gid: UInt32, name: String?)
        if let uid = s.runAsUser {
            guard let id = UInt32(exactly: uid) else { throw .invalid(field: "run_as_user", reason: "\(uid) is not a uid") }
            resolved = try users.resolve(String(id))
        } else if !s.runAsUsername.isEmpty {
            resolved = try users.resolve(s.runAsUsername)
        } else {
            resolved = image.user.isEmpty ? (0, 0, "root") : try users.resolve(image.user)
        }
        if let gid = s.runAsGroup {
            // CRI: a group without a user is an error (the image's user would get a foreign group).
            guard s.runAsUser != nil || !s.runAsUsername.isEmpty else {
                throw .invalid(field: "run_as_group", reason: "needs run_as_user or run_as_username")
            }
            guard let id = UInt32(exactly: gid) else { throw .invalid(field: "run_as_group", reason: "\(gid) is not a gid") }
            resolved.gid = id
        }
        var user = RuntimeSpec.User(uid: resolved.uid, gid: resolved.gid)
        var extra: [UInt32] = s.strictSupplementalGroups ? [] : users.memberships(of: resolved.name)
        for group in s.supplementalGroups {
            guard let id = UInt32(exactly: group) else { throw .invalid(field: "supplemental_groups", reason: "\(group) is not a gid") }
            extra.append(id)
        }
        // The primary group leads the list, as containerd writes it: the process's groups are
        // exactly these (what `id -G` prints), and ContainerStatus.user reports them so.
        var seen = Set<UInt32>()
        let groups = ([resolved.gid] + extra).filter { seen.insert($0).inserted }
        user.additionalGids = groups.isEmpty ? nil : groups
        return user
    }

    func capabilities(_ s: ContainerInput.Security) throws(SpecError) -> RuntimeSpec.Capabilities {
        func normal(_ name: String) -> String { let up = name.uppercased(); return up.hasPrefix("CAP_") ? up : "CAP_" + up }
        var set: [String]
        if s.privileged || s.addCapabilities.contains(where: { $0.uppercased() == "ALL" }) {
            set = hostCapabilities
        } else {
            set = Self.defaultCapabilities
            for name in s.addCapabilities.map(normal) where !set.contains(name) {
                guard Capability.names.contains(name) else { throw .invalid(field: "capabilities.add_capabilities", reason: "unknown capability \(name)") }
                set.append(name)
            }
        }
        if s.dropCapabilities.contains(where: { $0.uppercased() == "ALL" }) {
            // ALL dropped: only what is explicitly added stays (containerd's order).
            set = s.addCapabilities.map(normal).filter { Capability.names.contains($0) }
        } else {
            let drop = Set(s.dropCapabilities.map(normal))
            set.removeAll { drop.contains($0) }
        }
        var caps = RuntimeSpec.Capabilities()
        caps.bounding = set
        caps.effective = set
        caps.permitted = set
        return caps
    }

    func seccomp(_ choice: ContainerInput.SeccompChoice, capabilities: [String]) throws(SpecError) -> RuntimeSpec.Seccomp? {
        switch choice {
        case .unconfined: return nil
        case .runtimeDefault:
            return runtimeDefaultSeccomp ?? RuntimeDefaultSeccomp.profile(capabilities: capabilities)
        case .localhost(let path):
            guard let profile = localhostSeccomp[path] else { throw .invalid(field: "seccomp.localhost_ref", reason: "no profile at \(path)") }
            return profile
        }
    }
}
