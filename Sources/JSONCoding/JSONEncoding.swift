/// Encodable to JSON without Foundation (see `JSONDecoding` for why). Keys are always sorted and
/// `/` is never escaped; `pretty` indents by two spaces with `"key": value`, as runc and Go print.
public enum JSONEncoding {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let root = Node()
        try value.encode(to: ValueEncoder(node: root, codingPath: []))
        var out: [UInt8] = []
        JSONWriter(pretty: pretty).write(root.value, into: &out, indent: 0)
        return out
    }

    public static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }

    /// One string as a JSON literal, escaped as this encoder escapes every string.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        JSONWriter(pretty: false).string(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// What one value became while encoding: containers hand out references to their children, which are
/// filled in later, so the tree is built from classes and turned into a `JSONValue` at the end.
final class Node {
    var scalar: JSONValue?
    var members: [String: Node]?
    var elements: [Node]?

    /// A value that encoded nothing is an empty object, as with Foundation.
    var value: JSONValue {
        if let scalar { return scalar }
        if let elements { return .array(elements.map(\.value)) }
        return .object((members ?? [:]).mapValues(\.value))
    }

    /// A new child under `key`, or with `reuse`, the one already there (a nested container asked for
    /// twice writes into the same object, as with Foundation).
    func member(_ key: String, reuse: Bool = false) -> Node {
        if members == nil { members = [:] }
        if reuse, let existing = members![key] { return existing }
        let child = Node()
        members![key] = child
        return child
    }

    func appendElement() -> Node {
        if elements == nil { elements = [] }
        let child = Node()
        elements!.append(child)
        return child
    }
}

private func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, _ path: [any CodingKey]) throws -> JSONValue {
    guard value.isFinite else {
        throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "\(value) is not a JSON number"))
    }
    return .number(value.description)
}

struct ValueEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [:] }
        return KeyedEncodingContainer(KeyedEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.elements == nil { node.elements = [] }
        return UnkeyedEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueEncoder(node: node, codingPath: codingPath) }
}

struct SingleValueEncoder: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    func encodeNil() { node.scalar = .null }
    func encode(_ value: Bool) { node.scalar = .bool(value) }
    func encode(_ value: String) { node.scalar = .string(value) }
    func encode(_ value: Double) throws { node.scalar = try number(value, codingPath) }
    func encode(_ value: Float) throws { node.scalar = try number(value, codingPath) }
    func encode(_ value: Int) { node.scalar = .number(String(value)) }
    func encode(_ value: Int8) { node.scalar = .number(String(value)) }
    func encode(_ value: Int16) { node.scalar = .number(String(value)) }
    func encode(_ value: Int32) { node.scalar = .number(String(value)) }
    func encode(_ value: Int64) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt8) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt16) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt32) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt64) { node.scalar = .number(String(value)) }
    func encode<T: Encodable>(_ value: T) throws { try value.encode(to: ValueEncoder(node: node, codingPath: codingPath)) }
}

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    private func set(_ key: Key, _ value: JSONValue) { node.member(key.stringValue).scalar = value }

    func encodeNil(forKey key: Key) { set(key, .null) }
    func encode(_ value: Bool, forKey key: Key) { set(key, .bool(value)) }
    func encode(_ value: String, forKey key: Key) { set(key, .string(value)) }
    func encode(_ value: Double, forKey key: Key) throws { set(key, try number(value, codingPath + [key])) }
    func encode(_ value: Float, forKey key: Key) throws { set(key, try number(value, codingPath + [key])) }
    func encode(_ value: Int, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: Int8, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: Int16, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: Int32, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: Int64, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: UInt, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: UInt8, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: UInt16, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: UInt32, forKey key: Key) { set(key, .number(String(value))) }
    func encode(_ value: UInt64, forKey key: Key) { set(key, .number(String(value))) }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: ValueEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(node: node.member(key.stringValue, reuse: true), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(node: node.member(key.stringValue, reuse: true), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder { ValueEncoder(node: node.member("super", reuse: true), codingPath: codingPath + [NameKey("super")]) }
    func superEncoder(forKey key: Key) -> any Encoder {
        ValueEncoder(node: node.member(key.stringValue, reuse: true), codingPath: codingPath + [key])
    }
}

struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.elements?.count ?? 0 }

    private func next() -> ValueEncoder {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(node: node.appendElement(), codingPath: path)
    }

    func encodeNil() { next().node.scalar = .null }
    func encode<T: Encodable>(_ value: T) throws { try value.encode(to: next()) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
    func superEncoder() -> any Encoder { next() }
}

/// Serialises a `JSONValue`: sorted keys, `/` unescaped, control characters as `\n`-style or `\u00XX`.
struct JSONWriter {
    let pretty: Bool

    func write(_ value: JSONValue, into out: inout [UInt8], indent: Int) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): string(s, into: &out)
        case .array(let elements):
            guard !elements.isEmpty else { return out.append(contentsOf: "[]".utf8) }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent + 1)
                write(element, into: &out, indent: indent + 1)
            }
            newline(into: &out, indent: indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { return out.append(contentsOf: "{}".utf8) }
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent + 1)
                string(key, into: &out)
                out.append(contentsOf: (pretty ? ": " : ":").utf8)
                write(members[key]!, into: &out, indent: indent + 1)
            }
            newline(into: &out, indent: indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func newline(into out: inout [UInt8], indent: Int) {
        guard pretty else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x08: out.append(contentsOf: "\\b".utf8)
            case 0x0C: out.append(contentsOf: "\\f".utf8)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
