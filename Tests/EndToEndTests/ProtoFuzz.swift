import Foundation

/// The CRI schema read from `Protos/api.proto` (flat messages, top-level enums, maps, no oneofs),
/// so the robustness suite can build requests that follow each RPC's real field numbers and types
/// with hostile values in them, instead of noise the decoder rejects at once.
struct ProtoSchema {
    struct Field {
        var name: String
        var number: Int
        var type: String
        var repeated: Bool
        var map: (key: String, value: String)?
    }

    struct RPC {
        var service: String
        var name: String
        var request: String
        var streaming: Bool
    }

    var messages: [String: [Field]] = [:]
    var enums: [String: [Int]] = [:]
    var rpcs: [RPC] = []

    init(file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var current: (kind: String, name: String)?
        var service = ""
        for raw in text.split(separator: "\n") {
            let line = raw.range(of: "//").map { String(raw[..<$0.lowerBound]) } ?? String(raw)
            let words = line.replacingOccurrences(of: ";", with: " ").split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first else { continue }
            if ["message", "enum", "service"].contains(first), words.count >= 2 {
                current = (first, words[1])
                if first == "service" { service = "runtime.v1." + words[1] }
                continue
            }
            if first == "}" { current = nil; continue }
            guard let (kind, name) = current else { continue }
            switch kind {
            case "enum":
                if words.count >= 3, words[1] == "=", let value = Int(words[2]) { enums[name, default: []].append(value) }
            case "service":
                // rpc Name(Request) returns (stream Response) {}
                if first == "rpc", let open = line.firstIndex(of: "("), let close = line.firstIndex(of: ")") {
                    let rpcName = line[line.index(after: line.range(of: "rpc")!.upperBound)..<open].trimmingCharacters(in: .whitespaces)
                    let request = String(line[line.index(after: open)..<close])
                    rpcs.append(RPC(service: service, name: rpcName, request: request, streaming: line.contains("(stream ")))
                }
            default:
                if let field = Self.field(words: words, line: line) { messages[name, default: []].append(field) }
            }
        }
    }

    /// `[repeated] type name = N` or `map<K, V> name = N`.
    static func field(words: [String], line: String) -> Field? {
        if line.contains("map<"), let open = line.range(of: "map<"), let close = line.range(of: ">") {
            let types = line[open.upperBound..<close.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let rest = line[close.upperBound...].split(whereSeparator: { $0 == " " || $0 == ";" }).map(String.init)
            guard types.count == 2, rest.count >= 3, let number = Int(rest[2]) else { return nil }
            return Field(name: rest[0], number: number, type: "map", repeated: true, map: (types[0], types[1]))
        }
        let repeated = words.first == "repeated"
        let w = repeated ? Array(words.dropFirst()) : words
        guard w.count >= 4, w[2] == "=", let number = Int(w[3]) else { return nil }
        return Field(name: w[1], number: number, type: w[0], repeated: repeated, map: nil)
    }
}

/// Protobuf wire bytes for a message of the schema, with edge values chosen by a seeded generator.
struct HostileMessages {
    let schema: ProtoSchema
    var random: SeededRandom

    static let strings: [[UInt8]] = [
        [], Array("a".utf8), Array("../../../../etc/passwd".utf8), Array("/etc/shadow".utf8), Array("/proc/self/fd/3".utf8),
        Array("a\u{0}b".utf8), Array("\u{1}\u{7f}\n\r\t\u{1b}[2J".utf8), [0xff, 0xfe, 0xc3], Array("docker.io/library/busybox:latest".utf8),
        Array("sha256:".utf8) + Array(repeating: UInt8(ascii: "0"), count: 64), Array("${HOME}%n%s'\"`".utf8),
        Array(repeating: UInt8(ascii: "x"), count: 70_000), Array("ünïcödé ☃ 𝄞".utf8), Array("-1".utf8), Array("k=v".utf8),
    ]
    static let integers: [UInt64] = [0, 1, UInt64(bitPattern: -1), UInt64(Int64.max), UInt64(bitPattern: Int64.min),
                                     UInt64(Int32.max) + 1, UInt64(UInt32.max), UInt64.max, 4096, 1 << 40]

    mutating func message(_ type: String, depth: Int = 0) -> [UInt8] {
        guard let fields = schema.messages[type], depth < 6 else { return [] }
        var out: [UInt8] = []
        for field in fields where random.next(100) < 70 {
            let count = field.repeated ? [0, 1, 3, 200][random.next(4)] : 1
            for _ in 0..<count { out += encode(field, depth: depth) }
        }
        // Now and then a field this version does not know, or a known number with the wrong wire type.
        if random.next(10) == 0 { out += Self.tag(9_999, 0) + Self.varint(UInt64(random.next(1000))) }
        if random.next(20) == 0, let field = fields.first { out += Self.tag(field.number, 5) + [1, 2, 3, 4] }
        return out
    }

    mutating func encode(_ field: ProtoSchema.Field, depth: Int) -> [UInt8] {
        if let map = field.map {
            let key = value(map.key, number: 1, depth: depth + 1)
            let entry = key + value(map.value, number: 2, depth: depth + 1)
            return Self.tag(field.number, 2) + Self.varint(UInt64(entry.count)) + entry
        }
        return value(field.type, number: field.number, depth: depth)
    }

    mutating func value(_ type: String, number: Int, depth: Int) -> [UInt8] {
        switch type {
        case "string", "bytes":
            let s = random.next(8) == 0 ? random.bytes(random.next(64)) : Self.strings[random.next(Self.strings.count)]
            return Self.tag(number, 2) + Self.varint(UInt64(s.count)) + s
        case "int64", "int32", "uint64", "uint32":
            return Self.tag(number, 0) + Self.varint(Self.integers[random.next(Self.integers.count)])
        case "bool":
            return Self.tag(number, 0) + Self.varint([0, 1, 2, UInt64.max][random.next(4)])
        case "double":
            return Self.tag(number, 1) + random.bytes(8)
        case "float":
            return Self.tag(number, 5) + random.bytes(4)
        default:
            if let values = schema.enums[type] {
                let unknown: [UInt64] = [99, UInt64(bitPattern: -1), UInt64(Int32.max)]
                let pick = random.next(3) == 0 ? unknown[random.next(unknown.count)] : UInt64(values[random.next(values.count)])
                return Self.tag(number, 0) + Self.varint(pick)
            }
            let nested = message(type, depth: depth + 1)
            return Self.tag(number, 2) + Self.varint(UInt64(nested.count)) + nested
        }
    }

    static func tag(_ number: Int, _ wireType: UInt64) -> [UInt8] { varint(UInt64(number) << 3 | wireType) }

    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value
        var out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }
}

/// A small deterministic generator (SplitMix64): a failing run is reproduced from its seed.
struct SeededRandom {
    var state: UInt64

    mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(_ bound: Int) -> Int { Int(nextUInt64() % UInt64(max(bound, 1))) }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: nextUInt64()) } }
}
