/// A JSON document as skiffctl prints it. crictl round-trips every reply through Go's
/// `map[string]any`, so its output has sorted keys and Go's escaping; skiffctl parses the
/// protobuf JSON into this type and prints it the same way, so scripts written for crictl keep working.
indirect enum JSONValue: Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    /// A number kept as written, so large integers are not rounded.
    case number(String)
    case bool(Bool)
    case null

    struct ParseError: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "invalid JSON at byte \(offset)" }
    }

    static func parse(_ text: String) throws -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        let value = try parser.value()
        parser.skipSpace()
        guard parser.pos == parser.bytes.count else { throw ParseError(offset: parser.pos) }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var pos = 0

        mutating func skipSpace() {
            while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard pos < bytes.count else { throw ParseError(offset: pos) }
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                var members: [String: JSONValue] = [:]
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard case .string(let key) = try value() else { throw ParseError(offset: pos) }
                    skipSpace()
                    try expect(":")
                    members[key] = try value()
                    skipSpace()
                    if try separatorOrEnd("}") { return .object(members) }
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [JSONValue] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    items.append(try value())
                    skipSpace()
                    if try separatorOrEnd("]") { return .array(items) }
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try word("true"); return .bool(true)
            case UInt8(ascii: "f"): try word("false"); return .bool(false)
            case UInt8(ascii: "n"): try word("null"); return .null
            default:
                let start = pos
                while pos < bytes.count, "+-0123456789.eE".utf8.contains(bytes[pos]) { pos += 1 }
                guard pos > start else { throw ParseError(offset: pos) }
                return .number(String(decoding: bytes[start..<pos], as: UTF8.self))
            }
        }

        mutating func separatorOrEnd(_ end: Character) throws -> Bool {
            guard pos < bytes.count else { throw ParseError(offset: pos) }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; return false }
            try expect(end)
            return true
        }

        mutating func expect(_ c: Character) throws {
            guard pos < bytes.count, bytes[pos] == c.asciiValue else { throw ParseError(offset: pos) }
            pos += 1
        }

        mutating func word(_ w: String) throws {
            let w = Array(w.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { throw ParseError(offset: pos) }
            pos += w.count
        }

        mutating func string() throws -> String {
            pos += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll()
            }
            while pos < bytes.count {
                let c = bytes[pos]
                pos += 1
                if c == UInt8(ascii: "\"") { flush(); return String(scalars) }
                guard c == UInt8(ascii: "\\") else { raw.append(c); continue }
                flush()
                guard pos < bytes.count else { break }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    // A surrogate pair encodes one scalar above U+FFFF.
                    if (0xD800..<0xDC00).contains(code), pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\") {
                        pos += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: scalars.append(Unicode.Scalar(e))
                }
            }
            throw ParseError(offset: pos)
        }

        mutating func hex4() throws -> UInt32 {
            guard pos + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16)
            else { throw ParseError(offset: pos) }
            pos += 4
            return v
        }
    }
}
