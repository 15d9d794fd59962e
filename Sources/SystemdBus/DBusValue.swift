/// The D-Bus values this client writes and reads.
public indirect enum DBusValue: Equatable, Sendable {
    case string(String)
    case objectPath(String)
    case signature(String)
    case bool(Bool)
    case uint32(UInt32)
    case uint64(UInt64)
    case uint32Array([UInt32])
    case byteArray([UInt8])

    var signature: String {
        switch self {
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .bool: "b"
        case .uint32: "u"
        case .uint64: "t"
        case .uint32Array: "au"
        case .byteArray: "ay"
        }
    }
}

/// Marshals values with the specification's alignment: each value starts at a multiple of its
/// size (strings and arrays at 4, 64-bit values and structs at 8), counted from the start of the
/// message or of the body, which itself starts at a multiple of 8.
public struct DBusWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func align(_ n: Int) {
        while bytes.count % n != 0 { bytes.append(0) }
    }

    public mutating func byte(_ v: UInt8) { bytes.append(v) }

    public mutating func uint32(_ v: UInt32) {
        align(4)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    public mutating func uint64(_ v: UInt64) {
        align(8)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    public mutating func string(_ s: String) {
        uint32(UInt32(s.utf8.count))
        bytes += s.utf8
        bytes.append(0)
    }

    public mutating func signature(_ s: String) {
        bytes.append(UInt8(s.utf8.count))
        bytes += s.utf8
        bytes.append(0)
    }

    /// An array: its byte length first, then (after padding to the elements' alignment, which the
    /// length does not count) the elements.
    public mutating func array(alignment: Int, _ elements: (inout DBusWriter) -> Void) {
        uint32(0)
        let lengthAt = bytes.count - 4
        align(alignment)
        let start = bytes.count
        elements(&self)
        let length = UInt32(bytes.count - start)
        for i in 0..<4 { bytes[lengthAt + i] = UInt8(truncatingIfNeeded: length >> UInt32(8 * i)) }
    }

    public mutating func structure(_ fields: (inout DBusWriter) -> Void) {
        align(8)
        fields(&self)
    }

    public mutating func value(_ v: DBusValue) {
        switch v {
        case .string(let s), .objectPath(let s): string(s)
        case .signature(let s): signature(s)
        case .bool(let b): uint32(b ? 1 : 0)
        case .uint32(let u): uint32(u)
        case .uint64(let t): uint64(t)
        case .uint32Array(let list): array(alignment: 4) { w in list.forEach { w.uint32($0) } }
        case .byteArray(let list): array(alignment: 1) { w in list.forEach { w.byte($0) } }
        }
    }

    public mutating func variant(_ v: DBusValue) {
        signature(v.signature)
        value(v)
    }
}

/// Reads values back, with the same alignment rules.
struct DBusReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func align(_ n: Int) { offset = (offset + n - 1) / n * n }

    mutating func take(_ n: Int) throws(DBusError) -> ArraySlice<UInt8> {
        guard n >= 0, offset + n <= bytes.count else { throw .malformed("value past the end") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func byte() throws(DBusError) -> UInt8 { try take(1).first! }

    mutating func uint32() throws(DBusError) -> UInt32 {
        align(4)
        return try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func uint64() throws(DBusError) -> UInt64 {
        align(8)
        return try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func string() throws(DBusError) -> String {
        let length = Int(try uint32())
        let text = try take(length)
        _ = try take(1)
        return String(decoding: text, as: UTF8.self)
    }

    mutating func signature() throws(DBusError) -> String {
        let length = Int(try byte())
        let text = try take(length)
        _ = try take(1)
        return String(decoding: text, as: UTF8.self)
    }

    /// A variant of one of the basic types header fields use.
    mutating func variant() throws(DBusError) -> DBusValue {
        switch try signature() {
        case "s": return .string(try string())
        case "o": return .objectPath(try string())
        case "g": return .signature(try signature())
        case "u": return .uint32(try uint32())
        case "b": return .bool(try uint32() != 0)
        case "t": return .uint64(try uint64())
        case let other: throw .malformed("unexpected variant type '\(other)' in a header field")
        }
    }
}
