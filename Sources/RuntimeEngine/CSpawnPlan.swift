#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Lays a `SpawnPlan` out as the C `cs_plan`: every string and array is copied into memory owned
/// by this object, so the child (a copy-on-write image of this process) reads stable pointers and
/// never allocates.
final class CSpawnPlan {
    private var allocations: [UnsafeMutableRawPointer] = []
    private(set) var raw = cs_plan()

    deinit { allocations.forEach { free($0) } }

    private func string(_ s: String?) -> UnsafePointer<CChar>? {
        guard let s, let copy = strdup(s) else { return nil }
        allocations.append(copy)
        return UnsafePointer(copy)
    }

    private func array<T>(_ items: [T]) -> UnsafePointer<T>? {
        guard !items.isEmpty else { return nil }
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: items.count)
        buffer.initialize(from: items, count: items.count)
        allocations.append(UnsafeMutableRawPointer(buffer))
        return UnsafePointer(buffer)
    }

    /// A NULL-terminated `char *[]`.
    private func stringArray(_ items: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
        array(items.map { string($0) } + [nil])
    }

    init(_ plan: SpawnPlan, joinFDs: [Int32], cgroupFD: Int32, execFifoFD: Int32, lastCap: Int32,
         seccomp: (filter: UnsafeRawPointer?, count: UInt16, flags: UInt32), preserveFDs: Int32) {
        raw.clone_flags = plan.createsAfterJoin ? 0 : UInt64(plan.cloneFlags)
        raw.unshare_flags = plan.createsAfterJoin ? UInt64(plan.cloneFlags) : 0
        var joinFDTuple = raw.join_fds, joinTypeTuple = raw.join_types
        withUnsafeMutableBytes(of: &joinFDTuple) { fds in
            withUnsafeMutableBytes(of: &joinTypeTuple) { types in
                for (i, join) in plan.joins.prefix(8).enumerated() {
                    fds.storeBytes(of: joinFDs[i], toByteOffset: i * 4, as: Int32.self)
                    types.storeBytes(of: join.flag, toByteOffset: i * 4, as: Int32.self)
                }
            }
        }
        raw.join_fds = joinFDTuple
        raw.join_types = joinTypeTuple
        raw.join_count = Int32(min(plan.joins.count, 8))
        raw.cgroup_fd = cgroupFD
        raw.uid_map = string(plan.uidMap)
        raw.gid_map = string(plan.gidMap)
        raw.deny_setgroups = plan.denySetgroups ? 1 : 0

        raw.rootfs = string(plan.rootfs)
        raw.rootfs_readonly = plan.rootfsReadonly ? 1 : 0
        raw.rootfs_propagation = plan.rootfsPropagation
        raw.mounts = array(plan.mounts.map { m in
            cs_mount(source: string(m.source), target: string(m.target), fstype: string(m.fstype), flags: m.flags,
                     propagation: m.propagation, remount: m.remount, data: string(m.data),
                     target_is_file: m.targetIsFile ? 1 : 0, fallback_source: string(m.fallbackSource),
                     recursive_attr: m.recursiveAttributes, idmap: m.idmap ? 1 : 0)
        })
        raw.mount_count = Int32(plan.mounts.count)
        if plan.createsAfterJoin && !plan.mounts.isEmpty {
            let slots = UnsafeMutablePointer<Int32>.allocate(capacity: plan.mounts.count)
            slots.initialize(repeating: -1, count: plan.mounts.count)
            allocations.append(UnsafeMutableRawPointer(slots))
            raw.tree_fds = slots
        }
        raw.devices = array(plan.devices.map { d in
            cs_device(path: string(d.path), mode: d.mode, major: d.major, minor: d.minor, uid: d.uid, gid: d.gid)
        })
        raw.device_count = Int32(plan.devices.count)
        raw.device_link_targets = array(SpawnPlan.deviceLinks.map { string($0.target) })
        raw.device_link_names = array(SpawnPlan.deviceLinks.map { string($0.name) })
        raw.device_link_count = Int32(SpawnPlan.deviceLinks.count)
        raw.bind_devices = plan.bindDevices ? 1 : 0
        raw.masked_paths = array(plan.maskedPaths.map { string($0) })
        raw.masked_count = Int32(plan.maskedPaths.count)
        raw.readonly_paths = array(plan.readonlyPaths.map { string($0) })
        raw.readonly_count = Int32(plan.readonlyPaths.count)
        raw.hostname = string(plan.hostname)
        raw.domainname = string(plan.domainname)
        raw.sysctl_keys = array(plan.sysctls.map { string($0.key) })
        raw.sysctl_values = array(plan.sysctls.map { string($0.value) })
        raw.sysctl_count = Int32(plan.sysctls.count)

        raw.cwd = string(plan.cwd)
        raw.argv = stringArray(plan.args)
        // The trampoline's argv: a slot for the resolved path (filled in by the child), then argv.
        let slots = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: plan.args.count + 2)
        slots.initialize(repeating: nil, count: plan.args.count + 2)
        for (i, arg) in plan.args.enumerated() { slots[i + 1] = raw.argv?[i] ?? string(arg) }
        allocations.append(UnsafeMutableRawPointer(slots))
        raw.trampoline_argv = slots
        raw.envp = stringArray(plan.env)
        raw.path_env = string(plan.pathEnv)
        raw.uid = plan.uid
        raw.gid = plan.gid
        raw.groups = array(plan.groups)
        raw.group_count = Int32(plan.groups.count)
        raw.umask = plan.umask
        raw.rlimits = array(plan.rlimits.map { cs_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) })
        raw.rlimit_count = Int32(plan.rlimits.count)
        raw.cap_bounding = plan.capBounding
        raw.cap_effective = plan.capEffective
        raw.cap_permitted = plan.capPermitted
        raw.cap_inheritable = plan.capInheritable
        raw.cap_ambient = plan.capAmbient
        raw.last_cap = lastCap
        raw.no_new_privileges = plan.noNewPrivileges ? 1 : 0
        raw.seccomp_filter = seccomp.filter
        raw.seccomp_len = seccomp.count
        raw.seccomp_flags = seccomp.flags
        raw.oom_score_adj_set = plan.oomScoreAdj == nil ? 0 : 1
        raw.oom_score_adj = plan.oomScoreAdj ?? 0
        raw.apparmor_profile = string(plan.apparmorProfile)

        raw.exec_fifo_fd = execFifoFD
        raw.stdio_fds = (-1, -1, -1)
        raw.trampoline_fd = -1
        raw.console_socket_fd = -1
        raw.preserve_fds = preserveFDs
        // Always a new session: the container must not share the caller's controlling terminal.
        raw.setsid = 1
    }
}
