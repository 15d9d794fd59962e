/// Errors of pod networking. `CRIServer` maps each case to one gRPC status.
public enum PodNetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No usable network configuration (the node's NetworkReady condition says why).
    case notReady(String)
    /// A configuration file that is not a CNI network configuration.
    case badConfig(file: String, reason: String)
    /// A value from the request that cannot go to a plugin (a `;` in a CNI_ARGS value, ...).
    case invalidArgument(field: String, reason: String)
    /// A plugin failed: CNI's error code and message, or what it printed.
    case plugin(type: String, command: String, code: Int, message: String)
    /// A result cache or namespace file could not be written or read.
    case system(String)

    public var description: String {
        switch self {
        case .notReady(let why): "network not ready: \(why)"
        case .badConfig(let file, let reason): "network config \(file): \(reason)"
        case .invalidArgument(let field, let reason): "invalid \(field): \(reason)"
        case .plugin(let type, let command, let code, let message): "CNI plugin \(type) \(command) failed (code \(code)): \(message)"
        case .system(let what): what
        }
    }
}
