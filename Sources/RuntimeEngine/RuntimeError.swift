import LinuxKit

/// Why a runtime operation failed. Messages name the field, path or step, so that an operator
/// can tell a bad config.json from a kernel refusal.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A config.json field that is malformed or that Skiff cannot honour.
    case invalidSpec(field: String, reason: String)
    case notFound(id: String)
    case alreadyExists(id: String)
    case invalidID(String)
    /// The operation does not fit the container's state (start of a running container…).
    case wrongState(id: String, status: String, operation: String)
    /// A step of the container's init failed before execve.
    case spawn(step: String, detail: String, errno: Int32)
    case system(SystemError)
    /// A cgroup controller the spec needs is not enabled on this host.
    case cgroup(String)
    case hook(String)

    public var description: String {
        switch self {
        case .invalidSpec(let field, let reason): "invalid config.json: \(field): \(reason)"
        case .notFound(let id): "container \(id) does not exist"
        case .alreadyExists(let id): "container \(id) already exists"
        case .invalidID(let id): "invalid container id '\(id)': use letters, digits, '_', '-', '.', at most 1024"
        // "container not running" is runc's wording, which containerd's shim matches to tell a
        // container that has already exited from a failure.
        case .wrongState(let id, let status, let operation) where status == "stopped":
            "cannot \(operation) container \(id): container not running (it is stopped)"
        case .wrongState(let id, let status, let operation): "cannot \(operation) container \(id): it is \(status)"
        case .spawn(let step, let detail, let errno):
            "container init failed at \(step)\(detail.isEmpty ? "" : " (\(detail))"): \(SystemError("", errno: errno).reason)"
        case .system(let error): error.description
        case .cgroup(let message): "cgroup: \(message)"
        case .hook(let message): "hook: \(message)"
        }
    }
}
