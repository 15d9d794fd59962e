import CShims
/// Everything the C child path needs, computed in Swift from config.json. Pure data: built and
/// unit-tested without root; `CSpawnPlan` turns it into the C `cs_plan`.
public struct SpawnPlan: Equatable, Sendable {
    public struct Mount: Equatable, Sendable {
        public var source: String?
        public var target: String
        public var fstype: String?
        public var flags: UInt
        public var propagation: UInt
        public var remount: UInt
        public var data: String?
        public var targetIsFile: Bool
        /// A cgroup2 mount that may fail (EPERM, EBUSY) falls back to a bind of this host directory.
        public var fallbackSource: String? = nil
        /// MOUNT_ATTR_* applied to the mount and all below it (`rro`).
        public var recursiveAttributes: UInt64 = 0
        /// Stands for the container's cgroup: the source is filled in once the cgroup is known.
        public var isCgroup = false
        /// A bind idmapped with the joined user namespace: the files' owners as the container's ids.
        public var idmap = false
    }

    public struct Device: Equatable, Sendable {
        public var path: String
        public var mode: UInt32
        public var major: UInt32
        public var minor: UInt32
        public var uid: UInt32
        public var gid: UInt32
    }

    public struct Rlimit: Equatable, Sendable {
        public var resource: Int32
        public var soft: UInt64
        public var hard: UInt64
    }

    /// A namespace to join: the clone flag and the path of its nsfs file.
    public struct Join: Equatable, Sendable {
        public var flag: Int32
        public var path: String
    }

    public var cloneFlags: Int32 = 0
    public var joins: [Join] = []
    /// A joined user namespace (a pod's) must own the namespaces made for the container: they are
    /// then made with unshare after the joins instead of by clone.
    public var createsAfterJoin: Bool { joins.contains { $0.flag == CS_CLONE_NEWUSER } }
    public var uidMap: String?
    public var gidMap: String?
    public var denySetgroups = false

    public var rootfs = ""
    public var rootfsReadonly = false
    public var rootfsPropagation: UInt = 0
    public var mounts: [Mount] = []
    public var devices: [Device] = []
    public var bindDevices = false
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    public var hostname: String?
    public var domainname: String?
    public var sysctls: [(key: String, value: String)] = []

    public var cwd = "/"
    public var args: [String] = []
    public var env: [String] = []
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var groups: [UInt32] = []
    public var umask: Int32 = -1
    public var rlimits: [Rlimit] = []
    public var capBounding: UInt64 = 0
    public var capEffective: UInt64 = 0
    public var capPermitted: UInt64 = 0
    public var capInheritable: UInt64 = 0
    public var capAmbient: UInt64 = 0
    public var noNewPrivileges = false
    public var oomScoreAdj: Int32?
    public var terminal = false
    /// The AppArmor profile to change to at execve (only where AppArmor is enabled).
    public var apparmorProfile: String?
    /// What the spec asked for that is dropped rather than refused, as runc does (logged as warnings).
    public var warnings: [String] = []

    public init() {}

    /// The PATH the executable is looked up in: the container's own, else the usual default
    /// (what runc and execvp use when a process has none).
    public var pathEnv: String {
        env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? Self.defaultPath
    }

    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The symlinks every container's /dev gets, as runc makes them (target, name in /dev).
    public static let deviceLinks: [(target: String, name: String)] = [
        ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"), ("pts/ptmx", "ptmx"),
    ]

    public static func == (a: SpawnPlan, b: SpawnPlan) -> Bool {
        a.cloneFlags == b.cloneFlags && a.joins == b.joins && a.uidMap == b.uidMap && a.gidMap == b.gidMap
            && a.denySetgroups == b.denySetgroups && a.rootfs == b.rootfs && a.rootfsReadonly == b.rootfsReadonly
            && a.rootfsPropagation == b.rootfsPropagation && a.mounts == b.mounts && a.devices == b.devices
            && a.bindDevices == b.bindDevices && a.maskedPaths == b.maskedPaths && a.readonlyPaths == b.readonlyPaths
            && a.hostname == b.hostname && a.domainname == b.domainname
            && a.sysctls.map(\.key) == b.sysctls.map(\.key) && a.sysctls.map(\.value) == b.sysctls.map(\.value)
            && a.cwd == b.cwd && a.args == b.args && a.env == b.env && a.uid == b.uid && a.gid == b.gid
            && a.groups == b.groups && a.umask == b.umask && a.rlimits == b.rlimits && a.capBounding == b.capBounding
            && a.capEffective == b.capEffective && a.capPermitted == b.capPermitted
            && a.capInheritable == b.capInheritable && a.capAmbient == b.capAmbient
            && a.noNewPrivileges == b.noNewPrivileges && a.oomScoreAdj == b.oomScoreAdj && a.terminal == b.terminal
            && a.apparmorProfile == b.apparmorProfile
    }
}
