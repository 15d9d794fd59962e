import LinuxKit

/// Errors of pod and node operations. `CRIServer` maps each case to one gRPC status.
public enum PodManagerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A request field is malformed; `field` names it as the CRI proto spells it.
    case invalidArgument(field: String, reason: String)
    /// The OCI runtime (or the monitor running it) failed; `message` is what it said.
    case runtimeFailed(operation: String, message: String)
    /// A system call of skiffd's own failed.
    case system(SystemError)
    /// No pod sandbox or container with that id.
    case notFound(kind: String, id: String)
    /// The name is taken by another sandbox or container, which must be removed first.
    case alreadyExists(String)
    /// The pod or container is not in a state that allows the call (starting a running container).
    case wrongState(String)
    /// A deadline the request set passed (ExecSync's timeout).
    case timeout(String)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let reason): "invalid \(field): \(reason)"
        case .runtimeFailed(let operation, let message): "runtime \(operation) failed: \(message)"
        case .system(let error): error.description
        case .notFound(let kind, let id): "\(kind) \"\(id)\" not found"
        case .alreadyExists(let message): message
        case .wrongState(let message): message
        case .timeout(let message): message
        }
    }
}

extension PodManagerError {
    /// What the runtime printed when a call failed. skiff names a node that lacks what was asked (a
    /// cgroup controller) with "cgroup: ": the node must change, not the request.
    static func runtime(_ operation: String, said message: String) -> PodManagerError {
        if let range = message.range(of: "cgroup: ") { return .wrongState(String(message[range.lowerBound...])) }
        return .runtimeFailed(operation: operation, message: message)
    }
}
