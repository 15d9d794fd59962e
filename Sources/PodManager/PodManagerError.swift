/// Errors of pod and node operations. `CRIServer` maps each case to one gRPC status.
public enum PodManagerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A request field is malformed; `field` names it as the CRI proto spells it.
    case invalidArgument(field: String, reason: String)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let reason): "invalid \(field): \(reason)"
        }
    }
}
