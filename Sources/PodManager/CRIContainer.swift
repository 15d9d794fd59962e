/// A container as skiffd keeps it: `<root>/containers/<id>/container.json`, written atomically at
/// each change. Its exit comes from the monitor's record (`<state>/containers/<id>/exit`).
public struct CRIContainer: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// CreateContainer has not finished: rolled back at recovery.
        case creating
        case created
        case running
        case exited
    }

    public var version = 1
    public var id: String
    public var podID: String
    public var name: String
    public var attempt: UInt32
    /// The image as the config named it, and the pulled image's id.
    public var image: String
    public var imageID: String
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]
    /// The CRI log file (the pod's log directory + the config's log path), or empty.
    public var logPath = ""
    public var mounts: [ContainerMountRecord] = []
    public var state: State
    public var createdAt: Int64
    public var startedAt: Int64 = 0
    public var finishedAt: Int64 = 0
    public var exitCode: Int32 = 0
    public var reason = ""
    public var pid: Int32 = 0
    public var monitorPID: Int32 = 0
    /// The ids the process runs with, for ContainerStatus.user.
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var supplementalGroups: [UInt32] = []
    /// The spec's cgroupsPath, where its usage is read.
    public var cgroupsPath: String?
    /// The image's stop signal (SIGTERM when it names none).
    public var stopSignal = "SIGTERM"
    /// The pod's runtime handler when it is not the built-in skiff (nil: skiff).
    public var handler: String?
    /// `oom_kill` of the cgroup's parent when the container started (see ContainerStats.oomKilled).
    public var parentOOMKills: UInt64?

    /// The name the kubelet reserves a container by within its pod.
    var reservedName: String { podID + "/" + name + "/" + String(attempt) }
}

public struct ContainerMountRecord: Codable, Sendable, Equatable {
    public var containerPath: String
    public var hostPath: String
    public var readonly: Bool
    public var propagation: String
    /// An image volume's image as asked for, and the id it resolved to.
    public var image: String?
    public var imageRef: String?
}
