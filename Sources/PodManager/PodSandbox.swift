import OCI

/// What a pod sandbox was asked to be: the CRI `PodSandboxConfig` in Skiff's own terms (CRIServer
/// translates), kept in the pod's record so a restarted skiffd can answer for it.
public struct PodSandboxSpec: Codable, Sendable, Equatable {
    public var name = ""
    public var uid = ""
    public var namespace = ""
    public var attempt: UInt32 = 0
    public var hostname = ""
    public var logDirectory = ""
    public var dns: DNS?
    public var portMappings: [PortMapping] = []
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]
    public var cgroupParent = ""
    public var sysctls: [String: String] = [:]
    public var network: NamespaceMode = .pod
    public var pid: NamespaceMode = .container
    public var ipc: NamespaceMode = .pod
    /// A user namespace of the pod's own (userns_options mode POD), or the node's (nil).
    public var userNamespace: UserNamespace?
    public var runtimeHandler = ""

    public init() {}

    /// CRI's NamespaceMode: the pod's own, a container's own, the node's, or another container's.
    public enum NamespaceMode: String, Codable, Sendable {
        case pod, container, node, target
    }

    /// The pod's id mappings: one range each for uids and gids, from container id 0 (OCI's form,
    /// which the containers' specs carry as they are).
    public struct UserNamespace: Codable, Sendable, Equatable {
        public var uids: [RuntimeSpec.IDMapping]
        public var gids: [RuntimeSpec.IDMapping]
        public init(uids: [RuntimeSpec.IDMapping], gids: [RuntimeSpec.IDMapping]) {
            self.uids = uids
            self.gids = gids
        }

        /// "0 100000 65536": as uid_map and gid_map take it (and `skiff sandbox-pin`).
        public var uidMap: String { uids.map(\.line).joined(separator: "\n") }
        public var gidMap: String { gids.map(\.line).joined(separator: "\n") }
    }

    public struct DNS: Codable, Sendable, Equatable {
        public var servers: [String] = []
        public var searches: [String] = []
        public var options: [String] = []
        public init(servers: [String] = [], searches: [String] = [], options: [String] = []) {
            self.servers = servers
            self.searches = searches
            self.options = options
        }
    }

    public struct PortMapping: Codable, Sendable, Equatable {
        public var proto: String   // "tcp", "udp", "sctp"
        public var containerPort: Int32
        public var hostPort: Int32
        public var hostIP: String
        public init(proto: String, containerPort: Int32, hostPort: Int32, hostIP: String) {
            self.proto = proto
            self.containerPort = containerPort
            self.hostPort = hostPort
            self.hostIP = hostIP
        }
    }

    /// The name the kubelet reserves a pod by: one sandbox per name, namespace, uid and attempt.
    var reservedName: String { [name, namespace, uid, String(attempt)].joined(separator: "_") }
}

/// A pod sandbox as Skiff keeps it: `<root>/pods/<id>/pod.json`, written atomically at each change.
public struct PodSandboxRecord: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// RunPodSandbox has not finished: on recovery, rolled back.
        case creating
        case ready
        case notReady
    }

    public var version = 1
    public var id: String
    public var spec: PodSandboxSpec
    public var state: State
    /// Nanoseconds since the epoch.
    public var createdAt: Int64
    /// The pod's addresses from its CNI result, first the primary.
    public var ips: [String] = []
    /// The CNI network ADD used, so DEL uses the same (from the result cache).
    public var networkName: String?
}
