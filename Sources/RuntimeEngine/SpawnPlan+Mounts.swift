import OCI

extension SpawnPlan {
    mutating func addMounts(_ specMounts: [RuntimeSpec.Mount], host: Host, linux: RuntimeSpec.Linux) throws(RuntimeError) {
        for (index, mount) in specMounts.enumerated() {
            let field = "mounts[\(index)]"
            guard mount.destination.hasPrefix("/"), !mount.destination.utf8.contains(0) else {
                throw .invalidSpec(field: field + ".destination", reason: "'\(mount.destination)' is not an absolute path")
            }
            let options: MountOptions
            do {
                options = try MountOptions(mount.options ?? [])
            } catch {
                throw .invalidSpec(field: field + ".options", reason: "'\(error.option)' is not supported")
            }
            let type = mount.type ?? (options.isBind ? "bind" : "")
            let isBind = type == "bind" || options.isBind
            var entry = Mount(
                source: mount.source, target: mount.destination, fstype: isBind ? nil : type,
                flags: options.flags, propagation: options.propagation, remount: 0,
                data: options.data.isEmpty ? nil : options.data.joined(separator: ","), targetIsFile: false)
            entry.recursiveAttributes = options.recursiveAttributes
            if type == "cgroup" || type == "cgroup2" {
                entry = cgroupMount(target: mount.destination, options: options)
            } else if isBind {
                guard var source = mount.source, !source.isEmpty else {
                    throw .invalidSpec(field: field + ".source", reason: "a bind mount needs a source")
                }
                if !source.hasPrefix("/") { source = host.bundle + "/" + source }
                guard let isDirectory = host.isDirectory(source) else {
                    throw .invalidSpec(field: field + ".source", reason: "\(source) does not exist")
                }
                entry.source = source
                entry.flags |= MountOptions.MountFlag.bind
                entry.remount = MountOptions.bindRemountFlags(entry.flags)
                entry.flags &= MountOptions.MountFlag.bind | MountOptions.MountFlag.rec
                entry.targetIsFile = !isDirectory
                entry.idmap = try idmapped(mount, options: options, linux: linux, field: field)
            } else {
                guard !type.isEmpty else { throw .invalidSpec(field: field + ".type", reason: "missing") }
            }
            mounts.append(entry)
        }
    }

    /// Whether a bind is idmapped. Skiff idmaps with the user namespace the container joins (a
    /// pod's, which is what the kubelet asks for: each mount with the pod's mappings); other
    /// mappings would need a namespace of their own and are refused.
    func idmapped(_ mount: RuntimeSpec.Mount, options: MountOptions, linux: RuntimeSpec.Linux, field: String) throws(RuntimeError) -> Bool {
        let uids = mount.uidMappings ?? [], gids = mount.gidMappings ?? []
        guard options.idmap || !uids.isEmpty || !gids.isEmpty else { return false }
        guard createsAfterJoin else {
            throw .invalidSpec(field: field, reason: "an idmapped mount needs a joined user namespace (linux.namespaces: user with a path)")
        }
        guard uids.isEmpty || uids == linux.uidMappings ?? [], gids.isEmpty || gids == linux.gidMappings ?? [] else {
            throw .invalidSpec(field: field + ".uidMappings", reason: "only the container's own mappings (linux.uidMappings, linux.gidMappings) are supported")
        }
        return true
    }

    /// `runc spec`, containerd and podman ask for a `cgroup` mount at /sys/fs/cgroup. Skiff is cgroup
    /// v2 only, so it is always a cgroup2 mount: in a cgroup namespace, a mount of that namespace
    /// (the container sees its own cgroup as the root); without one, a bind of the container's own
    /// cgroup directory, so the host's tree stays out of sight. Either way the spec's flags apply.
    func cgroupMount(target: String, options: MountOptions) -> Mount {
        let flags = options.flags & ~(MountOptions.MountFlag.bind | MountOptions.MountFlag.rec)
        let remount = MountOptions.bindRemountFlags(flags)
        let namespaced = cloneFlags & Self.namespaceFlags["cgroup"]! != 0
            || joins.contains { $0.flag == Self.namespaceFlags["cgroup"]! }
        if namespaced {
            return Mount(source: "cgroup2", target: target, fstype: "cgroup2", flags: flags, propagation: options.propagation,
                         remount: remount, data: nil, targetIsFile: false, isCgroup: true)
        }
        return Mount(source: nil, target: target, fstype: nil, flags: MountOptions.MountFlag.bind | MountOptions.MountFlag.rec,
                     propagation: options.propagation, remount: remount, data: nil, targetIsFile: false, isCgroup: true)
    }

    /// Names the container's cgroup directory (a host path) as the source of its cgroup mounts.
    public mutating func placeCgroupMounts(directory: String) {
        for index in mounts.indices where mounts[index].isCgroup {
            if mounts[index].fstype == nil { mounts[index].source = directory } else { mounts[index].fallbackSource = directory }
        }
    }

    /// Device nodes every container gets (as runc), then the spec's own.
    static let defaultDevices: [Device] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ].map { Device(path: $0.0, mode: 0o020666, major: $0.1, minor: $0.2, uid: 0, gid: 0) }

    mutating func addDevices(_ specDevices: [RuntimeSpec.Device]) throws(RuntimeError) {
        devices = Self.defaultDevices
        for (index, device) in specDevices.enumerated() {
            let field = "linux.devices[\(index)]"
            guard device.path.hasPrefix("/dev/"), !device.path.contains("/../") else {
                throw .invalidSpec(field: field + ".path", reason: "'\(device.path)' is not under /dev")
            }
            let typeBits: UInt32
            switch device.type {
            case "c", "u": typeBits = 0o020000
            case "b": typeBits = 0o060000
            case "p": typeBits = 0o010000
            default: throw .invalidSpec(field: field + ".type", reason: "'\(device.type)' is not c, b, u or p")
            }
            let major = device.major ?? 0, minor = device.minor ?? 0
            guard (0...Int64(UInt32.max)).contains(major), (0...Int64(UInt32.max)).contains(minor) else {
                throw .invalidSpec(field: field, reason: "major/minor out of range")
            }
            let entry = Device(path: device.path, mode: typeBits | ((device.fileMode ?? 0o666) & 0o7777),
                               major: UInt32(major), minor: UInt32(minor), uid: device.uid ?? 0, gid: device.gid ?? 0)
            devices.removeAll { $0.path == entry.path }
            devices.append(entry)
        }
    }
}

/// `process.rlimits` names → RLIMIT_* numbers.
enum RlimitTable {
    static let resources: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
        "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
        "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    static func plan(_ limits: [RuntimeSpec.Rlimit]) throws(RuntimeError) -> [SpawnPlan.Rlimit] {
        var seen = Set<String>()
        var out: [SpawnPlan.Rlimit] = []
        for (index, limit) in limits.enumerated() {
            let field = "process.rlimits[\(index)]"
            guard let resource = resources[limit.type] else {
                throw .invalidSpec(field: field + ".type", reason: "'\(limit.type)' is not a resource limit")
            }
            guard seen.insert(limit.type).inserted else { throw .invalidSpec(field: field, reason: "duplicate \(limit.type)") }
            guard limit.soft <= limit.hard else { throw .invalidSpec(field: field, reason: "soft limit above hard limit") }
            out.append(SpawnPlan.Rlimit(resource: resource, soft: limit.soft, hard: limit.hard))
        }
        return out
    }
}

/// Which sysctls a container or a pod may set: only those that belong to a namespace it owns
/// (runc's rule), so it can never change the host's kernel settings.
public enum SysctlPolicy {
    static let ipcKeys: Set<String> = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]

    /// The key with dots (`net/ipv4/ip_forward` is accepted too), or why it may not be set given
    /// the namespaces owned.
    public static func check(_ key: String, _ value: String, network: Bool, ipc: Bool, uts: Bool) -> Result<String, Refusal> {
        let normalised = key.replacingSlashes()
        let parts = normalised.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty, normalised.utf8.count <= 255, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isSysctlCharacter) }) else {
            return .failure(Refusal(reason: "not a sysctl name"))
        }
        guard !value.utf8.contains(0), !value.contains("\n") || value.hasSuffix("\n"), value.utf8.count <= 4096 else {
            return .failure(Refusal(reason: "value must be a single line"))
        }
        let owned: Bool
        if normalised.hasPrefix("net.") {
            owned = network
        } else if ipcKeys.contains(normalised) || normalised.hasPrefix("fs.mqueue.") {
            owned = ipc
        } else if normalised == "kernel.hostname" || normalised == "kernel.domainname" {
            owned = uts
        } else {
            return .failure(Refusal(reason: "not namespaced: it would change the host"))
        }
        return owned ? .success(normalised) : .failure(Refusal(reason: "the container does not own that namespace"))
    }

    public struct Refusal: Error, Equatable, Sendable {
        public let reason: String
    }

    static func validate(_ sysctls: [String: String], plan: SpawnPlan) throws(RuntimeError) -> [(key: String, value: String)] {
        let newNet = plan.cloneFlags & SpawnPlan.namespaceFlags["network"]! != 0
            || plan.joins.contains { $0.flag == SpawnPlan.namespaceFlags["network"]! }
        let newIPC = plan.cloneFlags & SpawnPlan.namespaceFlags["ipc"]! != 0
            || plan.joins.contains { $0.flag == SpawnPlan.namespaceFlags["ipc"]! }
        let newUTS = plan.cloneFlags & SpawnPlan.namespaceFlags["uts"]! != 0
        var out: [(key: String, value: String)] = []
        for key in sysctls.keys.sorted() {
            let value = sysctls[key]!
            switch check(key, value, network: newNet, ipc: newIPC, uts: newUTS) {
            case .success(let normalised): out.append((normalised, value))
            case .failure(let refusal): throw .invalidSpec(field: "linux.sysctl[\"\(key)\"]", reason: refusal.reason)
            }
        }
        return out
    }
}

extension String {
    func replacingSlashes() -> String { String(map { $0 == "/" ? "." : $0 }) }
}

extension Character {
    var isSysctlCharacter: Bool {
        isASCII && (isLetter || isNumber || self == "_" || self == "-")
    }
}
