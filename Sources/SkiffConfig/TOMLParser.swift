/// A parser for the part of TOML that Skiff's configuration files use: tables, dotted keys,
/// basic and literal strings, integers, booleans, arrays and inline tables.
/// Floats, dates and arrays of tables are rejected with a clear error rather than misread.
public struct TOMLParser {
    public struct SyntaxError: Error, Equatable, Sendable {
        public var line: Int
        public var message: String
    }

    private let bytes: [UInt8]
    private var pos = 0
    private var line = 1

    public static func parse(_ text: String) throws(SyntaxError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var atEnd: Bool { pos >= bytes.count }
    private var peek: UInt8? { atEnd ? nil : bytes[pos] }

    private func fail(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

    private mutating func document() throws(SyntaxError) -> TOMLTable {
        var root = TOMLTable()
        var current: [String] = []
        while true {
            skipBlankAndComments()
            guard let c = peek else { return root }
            if c == UInt8(ascii: "[") {
                pos += 1
                if peek == UInt8(ascii: "[") { throw fail("arrays of tables ([[...]]) are not supported") }
                skipSpaces()
                let path = try keyPath()
                skipSpaces()
                try expect("]")
                current = path
                try declareTable(&root, path: path, line: line)
            } else {
                let entryLine = line
                let path = try keyPath()
                skipSpaces()
                try expect("=")
                skipSpaces()
                let value = try value()
                try insert(&root, path: current + path, value: value, line: entryLine)
            }
            try endOfLine()
        }
    }

    // MARK: tables

    private func declareTable(_ root: inout TOMLTable, path: [String], line: Int) throws(SyntaxError) {
        try Self.update(&root, path: path, line: line) { (table: inout TOMLTable, key: String) throws(SyntaxError) in
            if let existing = table[key] {
                guard case .table = existing.value else {
                    throw SyntaxError(line: line, message: "'\(path.joined(separator: "."))' is already a value")
                }
                return
            }
            table[key] = TOMLEntry(value: .table(TOMLTable()), line: line)
        }
    }

    private func insert(_ root: inout TOMLTable, path: [String], value: TOMLValue, line: Int) throws(SyntaxError) {
        try Self.update(&root, path: path, line: line) { (table: inout TOMLTable, key: String) throws(SyntaxError) in
            if table[key] != nil {
                throw SyntaxError(line: line, message: "key '\(path.joined(separator: "."))' is defined twice")
            }
            table[key] = TOMLEntry(value: value, line: line)
        }
    }

    /// Walks to the parent table of `path` (creating tables on the way) and applies `body` to the last key.
    private static func update(
        _ table: inout TOMLTable, path: [String], line: Int,
        _ body: (inout TOMLTable, String) throws(SyntaxError) -> Void
    ) throws(SyntaxError) {
        guard let first = path.first else { return }
        if path.count == 1 { return try body(&table, first) }
        var child = TOMLTable()
        var childLine = line
        if let existing = table[first] {
            guard case .table(let t) = existing.value else {
                throw SyntaxError(line: line, message: "'\(first)' is not a table")
            }
            child = t
            childLine = existing.line
        }
        try update(&child, path: Array(path.dropFirst()), line: line, body)
        table[first] = TOMLEntry(value: .table(child), line: childLine)
    }

    // MARK: keys

    private mutating func keyPath() throws(SyntaxError) -> [String] {
        var parts = [try key()]
        while true {
            skipSpaces()
            guard peek == UInt8(ascii: ".") else { return parts }
            pos += 1
            skipSpaces()
            parts.append(try key())
        }
    }

    private mutating func key() throws(SyntaxError) -> String {
        switch peek {
        case UInt8(ascii: "\""): return try basicString()
        case UInt8(ascii: "'"): return try literalString()
        default:
            let start = pos
            while let c = peek, Self.isBareKey(c) { pos += 1 }
            guard pos > start else { throw fail("expected a key") }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }
    }

    private static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }

    // MARK: values

    private mutating func value() throws(SyntaxError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "\""): return .string(try basicString())
        case UInt8(ascii: "'"): return .string(try literalString())
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "{"): return try inlineTable()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return try boolean()
        default: return try integer()
        }
    }

    private mutating func boolean() throws(SyntaxError) -> TOMLValue {
        if matches("true") { pos += 4; return .bool(true) }
        if matches("false") { pos += 5; return .bool(false) }
        throw fail("expected a value")
    }

    private mutating func integer() throws(SyntaxError) -> TOMLValue {
        let start = pos
        while let c = peek, c != UInt8(ascii: ","), c != UInt8(ascii: "]"), c != UInt8(ascii: "}"),
            c != UInt8(ascii: "#"), c != 0x20, c != 0x09, c != 0x0A, c != 0x0D
        { pos += 1 }
        let raw = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard !raw.isEmpty else { throw fail("expected a value") }
        var text = raw.filter { $0 != "_" }
        var sign: Int64 = 1
        if text.hasPrefix("-") { sign = -1; text.removeFirst() } else if text.hasPrefix("+") { text.removeFirst() }
        var radix = 10
        for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where text.hasPrefix(prefix) {
            radix = r
            text.removeFirst(2)
        }
        guard !text.isEmpty, let magnitude = Int64(text, radix: radix) else {
            throw fail("'\(raw)' is not a supported value (strings, integers, booleans, arrays, tables)")
        }
        return .integer(sign * magnitude)
    }

    private mutating func array() throws(SyntaxError) -> TOMLValue {
        pos += 1
        var items: [TOMLValue] = []
        while true {
            skipBlankAndComments()
            if peek == UInt8(ascii: "]") { pos += 1; return .array(items) }
            items.append(try value())
            skipBlankAndComments()
            if peek == UInt8(ascii: ",") { pos += 1; continue }
            try expect("]")
            return .array(items)
        }
    }

    private mutating func inlineTable() throws(SyntaxError) -> TOMLValue {
        pos += 1
        var table = TOMLTable()
        skipSpaces()
        if peek == UInt8(ascii: "}") { pos += 1; return .table(table) }
        while true {
            skipSpaces()
            let entryLine = line
            let path = try keyPath()
            skipSpaces()
            try expect("=")
            skipSpaces()
            try insert(&table, path: path, value: try value(), line: entryLine)
            skipSpaces()
            if peek == UInt8(ascii: ",") { pos += 1; continue }
            try expect("}")
            return .table(table)
        }
    }

    private mutating func literalString() throws(SyntaxError) -> String {
        pos += 1
        let start = pos
        while let c = peek, c != UInt8(ascii: "'") {
            if c == 0x0A { throw fail("unterminated string") }
            pos += 1
        }
        guard !atEnd else { throw fail("unterminated string") }
        defer { pos += 1 }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    private mutating func basicString() throws(SyntaxError) -> String {
        pos += 1
        var out: [UInt8] = []
        while let c = peek {
            pos += 1
            switch c {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case 0x0A: throw fail("unterminated string")
            case UInt8(ascii: "\\"): out += try escape()
            default: out.append(c)
            }
        }
        throw fail("unterminated string")
    }

    private mutating func escape() throws(SyntaxError) -> [UInt8] {
        guard let c = peek else { throw fail("unterminated string") }
        pos += 1
        switch c {
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "\""): return [c]
        case UInt8(ascii: "\\"): return [c]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let width = c == UInt8(ascii: "u") ? 4 : 8
            guard pos + width <= bytes.count,
                let code = UInt32(String(decoding: bytes[pos..<pos + width], as: UTF8.self), radix: 16),
                let scalar = Unicode.Scalar(code)
            else { throw fail("invalid unicode escape") }
            pos += width
            return Array(String(Character(scalar)).utf8)
        default: throw fail("invalid escape '\\\(Character(Unicode.Scalar(c)))'")
        }
    }

    // MARK: whitespace

    private func matches(_ word: String) -> Bool {
        let w = Array(word.utf8)
        return pos + w.count <= bytes.count && Array(bytes[pos..<pos + w.count]) == w
    }

    private mutating func expect(_ s: Character) throws(SyntaxError) {
        guard let c = peek, c == s.asciiValue else { throw fail("expected '\(s)'") }
        pos += 1
    }

    private mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 { pos += 1 }
    }

    private mutating func skipComment() {
        if peek == UInt8(ascii: "#") { while let c = peek, c != 0x0A { pos += 1 } }
    }

    private mutating func skipBlankAndComments() {
        while true {
            skipSpaces()
            skipComment()
            guard let c = peek, c == 0x0A || c == 0x0D else { return }
            if c == 0x0A { line += 1 }
            pos += 1
        }
    }

    private mutating func endOfLine() throws(SyntaxError) {
        skipSpaces()
        skipComment()
        guard let c = peek else { return }
        if c == 0x0D { pos += 1 }
        guard peek == 0x0A else { throw fail("expected the end of the line") }
        pos += 1
        line += 1
    }
}
