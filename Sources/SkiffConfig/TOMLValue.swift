/// The parsed form of a TOML document: values keep the line they were written on, so that
/// configuration errors can point at `file:line`.
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The TOML type name, used in "expected X, found Y" messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .bool: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// One `key = value` (or `[table]` header) with the line it came from.
public struct TOMLEntry: Equatable, Sendable {
    public var value: TOMLValue
    public var line: Int
}

/// A table that keeps its keys in document order.
public struct TOMLTable: Equatable, Sendable {
    public private(set) var keys: [String] = []
    private var entries: [String: TOMLEntry] = [:]

    public init() {}

    public subscript(key: String) -> TOMLEntry? {
        get { entries[key] }
        set {
            if entries[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            entries[key] = newValue
        }
    }
}
