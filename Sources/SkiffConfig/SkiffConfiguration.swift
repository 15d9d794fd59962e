#if canImport(Glibc)
import Glibc
#endif
/// The effective configuration of skiffd. Every field has a default, so no file is needed.
/// Loaded from `/etc/skiff/config.toml` plus `config.d/*.toml` drop-ins (see `ConfigLoader`).
public struct SkiffConfiguration: Equatable, Sendable {
    /// Durable state: images, snapshots, pod records.
    public var root = "/var/lib/skiff"
    /// Volatile state: the socket, pinned namespaces, container state.
    public var state = "/run/skiff"
    /// One of trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"
    public var grpc = GRPC()
    public var cni = CNI()
    public var runtime = Runtime()
    public var images = Images()
    public var stream = Stream()

    public struct GRPC: Equatable, Sendable {
        /// The CRI socket. Empty means `<state>/skiff.sock`.
        public var socket = ""
        /// Owner group of the socket (numeric gid); the socket is mode 0660.
        public var gid: Int64 = 0
        /// Largest request or reply message in bytes (kubelet's own limit is 16 MiB).
        public var maxMessageSize: Int64 = 16 * 1024 * 1024
    }

    public struct CNI: Equatable, Sendable {
        /// Where network configurations are read from; the lexically first one is used.
        public var confDir = "/etc/cni/net.d"
        /// Where CNI plugin executables are looked up, in order.
        public var binDirs = ["/opt/cni/bin", "/usr/lib/cni"]
    }

    public struct Runtime: Equatable, Sendable {
        /// `systemd`, `cgroupfs`, or empty: decided by the node (`effectiveCgroupDriver`).
        public var cgroupDriver = ""
        /// cgroup v2 controllers whose absence is tolerated: a container's limit for one of them is
        /// skipped with a warning instead of failing the create (the kubelet always sends CPU shares).
        public var tolerateMissingControllers: [String] = []
        /// Runtime handlers besides skiff: name → a runc-compatible binary.
        public var handlers: [String: String] = [:]
        /// The driver in force: an empty setting means systemd where PID 1 is systemd (it has
        /// made /run/systemd/system, as sd_booted checks), as kubeadm nodes expect.
        public var effectiveCgroupDriver: String {
            if !cgroupDriver.isEmpty { return cgroupDriver }
            var info = stat()
            return stat("/run/systemd/system", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? "systemd" : "cgroupfs"
        }
        /// The handler of a pod whose runtime_handler is empty, and the one that cannot be removed.
        public static let builtInHandler = "skiff"
    }

    public struct Images: Equatable, Sendable {
        /// Per-registry settings in containerd's layout: `<dir>/<host>/hosts.toml`.
        public var registryConfigPath = "/etc/skiff/certs.d"
        /// A docker-style `config.json` whose `auths` are used when a pull brings no credentials.
        public var authFile = ""
        /// How many layers of one pull download at the same time.
        public var parallelLayers: Int64 = 3
        /// Seconds a registry connection may take to open.
        public var connectTimeout: Int64 = 10
        /// Seconds a registry may stay silent: before answering a request, or between two reads.
        public var readTimeout: Int64 = 30
    }

    /// The streaming server behind Exec, Attach and PortForward.
    public struct Stream: Equatable, Sendable {
        public var address = "127.0.0.1"
        /// 0: a free port, chosen at each start (the URLs carry it).
        public var port: Int64 = 0
        public var tlsCert = ""
        public var tlsKey = ""
        public var idleTimeout: Int64 = 4 * 3600
        public var maxStreams: Int64 = 128
    }

    public init() {}

    /// The socket path with the default filled in.
    public var socketPath: String { grpc.socket.isEmpty ? state + "/skiff.sock" : grpc.socket }

    /// Where the image store keeps its content and snapshots.
    public var imageStoreRoot: String { root }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

// Encoded with the same key names as the TOML file, for `Status` verbose info.
extension SkiffConfiguration: Encodable {
    enum CodingKeys: String, CodingKey {
        case root, state, logLevel = "log_level", grpc, cni, runtime, images, stream
    }
}

extension SkiffConfiguration.GRPC: Encodable {
    enum CodingKeys: String, CodingKey {
        case socket, gid, maxMessageSize = "max_message_size"
    }
}

extension SkiffConfiguration.CNI: Encodable {
    enum CodingKeys: String, CodingKey {
        case confDir = "conf_dir", binDirs = "bin_dirs"
    }
}

extension SkiffConfiguration.Runtime: Encodable {
    enum CodingKeys: String, CodingKey {
        case cgroupDriver = "cgroup_driver"
        case tolerateMissingControllers = "tolerate_missing_controllers"
        case handlers
    }
}

extension SkiffConfiguration.Images: Encodable {
    enum CodingKeys: String, CodingKey {
        case registryConfigPath = "registry_config_path", authFile = "auth_file", parallelLayers = "parallel_layers"
        case connectTimeout = "connect_timeout", readTimeout = "read_timeout"
    }
}

extension SkiffConfiguration.Stream: Encodable {
    enum CodingKeys: String, CodingKey {
        case address, port, tlsCert = "tls_cert", tlsKey = "tls_key", idleTimeout = "idle_timeout", maxStreams = "max_streams"
    }
}
