import OCI

extension SpecBuilder {
    /// The runtime's usual kernel filesystems, the pod's files, then the config's volumes, which
    /// win over a default at the same place (the kubelet mounts /etc/hosts, /dev/termination-log).
    func mounts(_ c: ContainerInput, sandbox: SandboxInput) throws(SpecError) -> [RuntimeSpec.Mount] {
        var mounts = RuntimeSpec.defaultSpec().mounts ?? []
        mounts.append(RuntimeSpec.Mount(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                                        options: ["nosuid", "noexec", "nodev", "relatime", "ro"]))
        if sandbox.ipcNamespace == nil {
            // The node's IPC namespace goes with the node's /dev/shm.
            mounts.removeAll { $0.destination == "/dev/shm" }
            mounts.append(RuntimeSpec.Mount(destination: "/dev/shm", type: "bind", source: "/dev/shm", options: ["rbind", "rprivate", "rw"]))
        }
        let podFileMode = c.security.readonlyRootfs ? "ro" : "rw"
        for (destination, source) in [("/etc/hostname", sandbox.hostnameFile), ("/etc/resolv.conf", sandbox.resolvConfFile)] where !source.isEmpty {
            mounts.append(RuntimeSpec.Mount(destination: destination, type: "bind", source: source, options: ["rbind", "rprivate", podFileMode]))
        }
        for (i, m) in c.mounts.enumerated() {
            let field = "mounts[\(i)]"
            guard m.containerPath.hasPrefix("/"), !m.containerPath.utf8.contains(0), m.containerPath.utf8.count < 4096 else {
                throw .invalid(field: field + ".container_path", reason: "must be an absolute path")
            }
            guard m.hostPath.hasPrefix("/"), !m.hostPath.utf8.contains(0), m.hostPath.utf8.count < 4096 else {
                throw .invalid(field: field + ".host_path", reason: "must be an absolute path")
            }
            let propagation = switch m.propagation {
            case .private: "rprivate"
            case .hostToContainer: "rslave"
            case .bidirectional: "rshared"
            }
            // CRI: a recursive read-only mount must be read-only and private (a shared or slave
            // mount would take new, writable submounts from the host).
            if m.recursiveReadOnly && (!m.readonly || m.propagation != .private) {
                throw .invalid(field: field + ".recursive_read_only", reason: "needs readonly and private propagation")
            }
            let destination = Self.clean(m.containerPath)
            mounts.removeAll { Self.clean($0.destination) == destination }
            var mount = RuntimeSpec.Mount(destination: m.containerPath, type: "bind", source: m.hostPath,
                                          options: ["rbind", propagation, m.recursiveReadOnly ? "rro" : m.readonly ? "ro" : "rw"])
            (mount.uidMappings, mount.gidMappings) = try idmap(m, sandbox: sandbox, field: field)
            mounts.append(mount)
        }
        return mounts
    }

    /// In a pod with a user namespace every volume is idmapped with the pod's mappings (the files'
    /// owners on the node are the owners the container sees); mappings asked for elsewhere, or other
    /// mappings, are refused.
    func idmap(_ m: ContainerInput.Mount, sandbox: SandboxInput, field: String) throws(SpecError) -> ([RuntimeSpec.IDMapping]?, [RuntimeSpec.IDMapping]?) {
        guard let userns = sandbox.userNamespace else {
            guard m.uidMappings.isEmpty, m.gidMappings.isEmpty else {
                throw .invalid(field: field + ".uidMappings", reason: "idmapped mounts need a pod with a user namespace")
            }
            return (nil, nil)
        }
        guard m.uidMappings.isEmpty || m.uidMappings == userns.uids, m.gidMappings.isEmpty || m.gidMappings == userns.gids else {
            throw .invalid(field: field + ".uidMappings", reason: "must be the pod's user namespace mappings")
        }
        return (userns.uids, userns.gids)
    }

    /// The pod's namespaces by path, a mount and cgroup namespace of the container's own, and the
    /// pid namespace its mode asks for.
    func namespaces(_ c: ContainerInput, sandbox: SandboxInput) -> [RuntimeSpec.Namespace] {
        var namespaces = [RuntimeSpec.Namespace(type: "mount"), RuntimeSpec.Namespace(type: "cgroup")]
        switch c.security.pid {
        case .container: namespaces.append(.init(type: "pid"))
        case .node: break
        case .target(let path), .pod(let path): namespaces.append(.init(type: "pid", path: path))
        }
        if let path = sandbox.networkNamespace { namespaces.append(.init(type: "network", path: path)) }
        if let path = sandbox.ipcNamespace { namespaces.append(.init(type: "ipc", path: path)) }
        if let path = sandbox.utsNamespace { namespaces.append(.init(type: "uts", path: path)) }
        if let userns = sandbox.userNamespace { namespaces.append(.init(type: "user", path: userns.path)) }
        return namespaces
    }

    /// Under the pod's parent: `<slice>:skiff:<id>` with the systemd driver, `<parent>/<id>` without.
    func cgroupsPath(_ c: ContainerInput, sandbox: SandboxInput) -> String {
        if sandbox.systemdCgroup {
            let slice = sandbox.cgroupParent.isEmpty ? "system.slice" : String(sandbox.cgroupParent.split(separator: "/").last ?? "system.slice")
            return slice + ":skiff:" + c.id
        }
        let parent = sandbox.cgroupParent.isEmpty ? "/skiff" : sandbox.cgroupParent
        return (parent.hasSuffix("/") ? parent : parent + "/") + c.id
    }

    func resources(_ c: ContainerInput) throws(SpecError) -> RuntimeSpec.Resources { try Self.resources(c.resources) }

    /// CRI's resources as OCI's, for a new container and for UpdateContainerResources.
    public static func resources(_ r: ContainerInput.Resources) throws(SpecError) -> RuntimeSpec.Resources {
        var out = RuntimeSpec.Resources()
        for (field, value) in [("cpu_period", r.cpuPeriod), ("cpu_shares", r.cpuShares), ("memory_limit_in_bytes", r.memoryLimit)] where value < 0 {
            throw .invalid(field: "resources.\(field)", reason: "\(value) is negative")
        }
        guard r.memorySwapLimit >= -1 else { throw .invalid(field: "resources.memory_swap_limit_in_bytes", reason: "\(r.memorySwapLimit) is below -1") }
        var cpu = RuntimeSpec.CPU()
        if r.cpuShares > 0 { cpu.shares = UInt64(r.cpuShares) }
        if r.cpuQuota != 0 { cpu.quota = r.cpuQuota }
        if r.cpuPeriod > 0 { cpu.period = UInt64(r.cpuPeriod) }
        if !r.cpusetCpus.isEmpty { cpu.cpus = r.cpusetCpus }
        if !r.cpusetMems.isEmpty { cpu.mems = r.cpusetMems }
        if cpu != RuntimeSpec.CPU() { out.cpu = cpu }
        if r.memoryLimit > 0 || r.memorySwapLimit != 0 {
            out.memory = RuntimeSpec.Memory(limit: r.memoryLimit > 0 ? r.memoryLimit : nil, swap: r.memorySwapLimit != 0 ? r.memorySwapLimit : nil)
        }
        for key in r.unified.keys where key.contains("/") || key.contains("..") || key.utf8.contains(0) {
            throw .invalid(field: "resources.unified", reason: "\"\(key.prefix(64))\" is not a cgroup file name")
        }
        if !r.unified.isEmpty { out.unified = r.unified }
        return out
    }

    /// `/a//b/` and `/a/b` are the same mount point.
    static func clean(_ path: String) -> String {
        "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}
