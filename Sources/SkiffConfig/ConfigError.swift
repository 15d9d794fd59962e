/// Why a configuration could not be loaded. Every case names the file and, where known, the line
/// and the key, so an operator can fix the file without guessing.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int, message: String)
    case unknownKey(file: String, line: Int, key: String)
    case badValue(file: String, line: Int, key: String, message: String)
    case badOverride(flag: String, message: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot read: \(reason)"
        case .syntax(let file, let line, let message): "\(file):\(line): \(message)"
        case .unknownKey(let file, let line, let key): "\(file):\(line): unknown key '\(key)'"
        case .badValue(let file, let line, let key, let message): "\(file):\(line): key '\(key)': \(message)"
        case .badOverride(let flag, let message): "\(flag): \(message)"
        }
    }
}
