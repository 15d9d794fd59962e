import OCI

/// A container's CRI config in Skiff's terms (CRIServer translates the protobuf), with what the
/// image and the pod add: everything `SpecBuilder` needs, so that it does no I/O.
public struct ContainerInput: Sendable, Equatable {
    public var id = ""
    public var name = ""
    public var attempt: UInt32 = 0
    public var command: [String] = []
    public var args: [String] = []
    public var workingDir = ""
    public var env: [(key: String, value: String)] = []
    public var mounts: [Mount] = []
    public var devices: [Device] = []
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]
    public var stdin = false
    /// The container's stdin ends when the first attached client's does.
    public var stdinOnce = false
    public var tty = false
    public var resources = Resources()
    public var security = Security()

    public init() {}

    public static func == (a: ContainerInput, b: ContainerInput) -> Bool {
        a.id == b.id && a.name == b.name && a.attempt == b.attempt && a.command == b.command && a.args == b.args
            && a.workingDir == b.workingDir && a.env.map(\.key) == b.env.map(\.key) && a.env.map(\.value) == b.env.map(\.value)
            && a.mounts == b.mounts && a.devices == b.devices && a.labels == b.labels && a.annotations == b.annotations
            && a.stdin == b.stdin && a.stdinOnce == b.stdinOnce && a.tty == b.tty && a.resources == b.resources && a.security == b.security
    }

    public enum Propagation: String, Sendable, Equatable { case `private`, hostToContainer, bidirectional }

    public struct Mount: Sendable, Equatable {
        public var containerPath: String
        public var hostPath: String
        public var readonly = false
        public var propagation = Propagation.private
        /// Read-only all the way down, submounts included (CRI's recursive_read_only).
        public var recursiveReadOnly = false
        /// An idmapped mount, as the kubelet asks for each volume of a pod with a user namespace:
        /// these must be the pod's own mappings.
        public var uidMappings: [RuntimeSpec.IDMapping] = []
        public var gidMappings: [RuntimeSpec.IDMapping] = []
        public init(containerPath: String, hostPath: String, readonly: Bool = false, propagation: Propagation = .private,
                    recursiveReadOnly: Bool = false, uidMappings: [RuntimeSpec.IDMapping] = [], gidMappings: [RuntimeSpec.IDMapping] = []) {
            self.containerPath = containerPath
            self.hostPath = hostPath
            self.readonly = readonly
            self.propagation = propagation
            self.recursiveReadOnly = recursiveReadOnly
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
        }
    }

    public struct Device: Sendable, Equatable {
        public var containerPath: String
        public var hostPath: String
        public var permissions: String
        /// What the caller found at `hostPath` (a stat of the host's node).
        public var type: String   // "c" or "b"
        public var major: Int64
        public var minor: Int64
        public init(containerPath: String, hostPath: String, permissions: String, type: String, major: Int64, minor: Int64) {
            self.containerPath = containerPath
            self.hostPath = hostPath
            self.permissions = permissions
            self.type = type
            self.major = major
            self.minor = minor
        }
    }

    public struct Resources: Sendable, Equatable {
        public var cpuPeriod: Int64 = 0
        public var cpuQuota: Int64 = 0
        public var cpuShares: Int64 = 0
        public var memoryLimit: Int64 = 0
        public var memorySwapLimit: Int64 = 0
        public var oomScoreAdj: Int64 = 0
        public var cpusetCpus = ""
        public var cpusetMems = ""
        public var unified: [String: String] = [:]
        public init() {}

        /// Without the limits that need one of `controllers` (and their `unified` files): what a
        /// node missing them can still apply, and the controllers that had a limit dropped.
        public func dropping(controllers: Set<String>) -> (Resources, [String]) {
            var out = self
            var dropped: [String] = []
            func drop(_ controller: String, _ present: Bool, _ clear: (inout Resources) -> Void) {
                guard controllers.contains(controller), present else { return }
                clear(&out)
                if !dropped.contains(controller) { dropped.append(controller) }
            }
            drop("cpu", cpuShares != 0 || cpuQuota != 0 || cpuPeriod != 0) { $0.cpuShares = 0; $0.cpuQuota = 0; $0.cpuPeriod = 0 }
            drop("cpuset", !cpusetCpus.isEmpty || !cpusetMems.isEmpty) { $0.cpusetCpus = ""; $0.cpusetMems = "" }
            drop("memory", memoryLimit != 0 || memorySwapLimit != 0) { $0.memoryLimit = 0; $0.memorySwapLimit = 0 }
            for key in unified.keys.sorted() {
                let controller = String(key.prefix { $0 != "." })
                drop(controller, true) { $0.unified[key] = nil }
            }
            return (out, dropped)
        }
    }

    public enum SeccompChoice: Sendable, Equatable { case unconfined, runtimeDefault, localhost(String) }
    /// CRI's AppArmor choice; `unset` means the runtime's default for an unprivileged container,
    /// as the kubelet has meant since AppArmor went GA. `localhost` names a profile already loaded.
    public enum AppArmorChoice: Sendable, Equatable {
        case unset, unconfined, runtimeDefault, localhost(String)

        /// A profile's bare name: CRI's deprecated string, and some clients in the new field,
        /// write it as `localhost/<name>`.
        public static func profileName(_ ref: String) -> String {
            ref.hasPrefix("localhost/") ? String(ref.dropFirst("localhost/".count)) : ref
        }
    }

    public struct Security: Sendable, Equatable {
        public var privileged = false
        public var addCapabilities: [String] = []
        public var dropCapabilities: [String] = []
        public var readonlyRootfs = false
        public var noNewPrivileges = false
        /// Numeric user, or nil for the image's (or `runAsUsername`).
        public var runAsUser: Int64?
        public var runAsUsername = ""
        public var runAsGroup: Int64?
        public var supplementalGroups: [Int64] = []
        /// CRI's SupplementalGroupsPolicy: Merge adds the image's /etc/group memberships.
        public var strictSupplementalGroups = false
        /// The pid namespace: the container's own, the node's, or another container's (TARGET).
        public var pid = PIDMode.container
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
        public var seccomp = SeccompChoice.unconfined
        public var apparmor = AppArmorChoice.unset
        public init() {}
    }

    /// `target` names another container of the pod: its id as CRI gives it, which PodManager
    /// replaces with the path of that container's pid namespace before the spec is built.
    public enum PIDMode: Sendable, Equatable { case container, node, target(path: String), pod(path: String) }
}

/// What the image says about running it (its config's `config` object).
public struct ImageInput: Sendable, Equatable {
    public var reference = ""
    public var entrypoint: [String] = []
    public var cmd: [String] = []
    public var env: [String] = []
    public var workingDir = ""
    public var user = ""
    public init() {}
}

/// The pod the container joins, and where its files are.
public struct SandboxInput: Sendable, Equatable {
    public struct UserNamespace: Sendable, Equatable {
        public var path: String
        public var uids: [RuntimeSpec.IDMapping]
        public var gids: [RuntimeSpec.IDMapping]
        public init(path: String, uids: [RuntimeSpec.IDMapping], gids: [RuntimeSpec.IDMapping]) {
            self.path = path
            self.uids = uids
            self.gids = gids
        }
    }

    public var id = ""
    public var name = ""
    public var namespace = ""
    public var uid = ""
    /// Paths of the pinned namespaces; nil when the pod uses the node's.
    public var networkNamespace: String?
    public var ipcNamespace: String?
    public var utsNamespace: String?
    /// The pod's shared pid namespace (`/proc/<holder>/ns/pid`), when it has one.
    public var pidNamespace: String?
    public var cgroupParent = ""
    public var systemdCgroup = false
    /// The pod's user namespace, when it has one (then it owns all the others).
    public var userNamespace: UserNamespace?
    /// The pod's `hostname` and `resolv.conf` files.
    public var hostnameFile = ""
    public var resolvConfFile = ""
    public init() {}
}
