/// The OCI runtime state, as `skiff state` prints it (runc's field set, so tools that parse
/// `runc state` read it unchanged).
public struct ContainerState: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable {
        case creating, created, running, stopped, paused
    }

    public var ociVersion: String
    public var id: String
    public var pid: Int32
    public var status: Status
    public var bundle: String
    public var rootfs: String
    /// RFC 3339 with nanoseconds, UTC.
    public var created: String
    public var owner: String
    public var annotations: [String: String]?

    public init(id: String, pid: Int32, status: Status, bundle: String, rootfs: String, created: String,
                annotations: [String: String]?) {
        self.ociVersion = RuntimeSpec.version
        self.id = id
        self.pid = pid
        self.status = status
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.owner = ""
        self.annotations = annotations
    }
}
