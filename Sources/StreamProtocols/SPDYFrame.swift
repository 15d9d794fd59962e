/// SPDY/3.1 as Kubernetes' streaming peers speak it (moby/spdystream): 8-byte frame headers, big
/// endian, a control bit, version 3, 24-bit lengths. The frames here are the decoded form; bytes
/// come and go through `SPDYFramer`, which owns the header compression.
public enum SPDYFrame: Equatable, Sendable {
    case synStream(streamID: UInt32, associatedTo: UInt32, priority: UInt8, flags: UInt8, headers: SPDYHeaders)
    case synReply(streamID: UInt32, flags: UInt8, headers: SPDYHeaders)
    case rstStream(streamID: UInt32, status: UInt32)
    case settings(flags: UInt8, entries: [SPDYSetting])
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    case headers(streamID: UInt32, flags: UInt8, headers: SPDYHeaders)
    case windowUpdate(streamID: UInt32, delta: UInt32)
    case data(streamID: UInt32, flags: UInt8, payload: [UInt8])

    public static let flagFin: UInt8 = 0x01
    public static let flagUnidirectional: UInt8 = 0x02
}

public struct SPDYSetting: Equatable, Sendable {
    public var flags: UInt8
    public var id: UInt32
    public var value: UInt32
    public init(flags: UInt8, id: UInt32, value: UInt32) { (self.flags, self.id, self.value) = (flags, id, value) }
}

/// RST_STREAM's status codes (GOAWAY uses 0 OK, 1 PROTOCOL_ERROR, 2 INTERNAL_ERROR).
public enum SPDYStatus {
    public static let protocolError: UInt32 = 1
    public static let invalidStream: UInt32 = 2
    public static let refusedStream: UInt32 = 3
    public static let cancel: UInt32 = 5
    public static let internalError: UInt32 = 6
    public static let streamInUse: UInt32 = 8
    public static let frameTooLarge: UInt32 = 11
}

public enum SPDYError: Error, Equatable, CustomStringConvertible {
    /// The session cannot go on: GOAWAY(PROTOCOL_ERROR) and close.
    case malformed(String)
    case compression(String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed SPDY frame: \(why)"
        case .compression(let why): "SPDY header compression: \(why)"
        case .tooLarge(let why): "SPDY frame too large: \(why)"
        }
    }
}

/// A header block: lowercase names, each with its values (sent joined by NUL). Order is kept.
public struct SPDYHeaders: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    public var pairs: [(name: String, value: String)]

    public init(_ pairs: [(String, String)] = []) { self.pairs = pairs.map { (name: $0.0.lowercased(), value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// The first value of `name`, whatever its case on the wire.
    public subscript(name: String) -> String? {
        let wanted = name.lowercased()
        return pairs.first { $0.name == wanted }?.value
    }

    public static func == (a: SPDYHeaders, b: SPDYHeaders) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// SPDY/3's name/value block, before compression: 32-bit counts and lengths.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.appendUInt32(UInt32(pairs.count))
        for (name, value) in pairs {
            out.appendUInt32(UInt32(name.utf8.count))
            out.append(contentsOf: name.utf8)
            out.appendUInt32(UInt32(value.utf8.count))
            out.append(contentsOf: value.utf8)
        }
        return out
    }

    /// Parses an inflated block, which must end exactly where its last pair ends. Names must be
    /// non-empty and lowercase; several values of one name come back joined with NUL as sent.
    static func decode(_ bytes: [UInt8], maxPairs: Int = 1000) throws(SPDYError) -> SPDYHeaders {
        var reader = ByteReader(bytes)
        guard let count = reader.uint32() else { throw .malformed("a header block without its count") }
        guard count <= maxPairs, Int(count) * 8 <= reader.remaining else { throw .malformed("a header block claims \(count) pairs") }
        var headers = SPDYHeaders()
        for _ in 0..<count {
            guard let nameLength = reader.uint32(), let name = reader.bytes(Int(nameLength)),
                  let valueLength = reader.uint32(), let value = reader.bytes(Int(valueLength)) else {
                throw .malformed("a header pair runs past its block")
            }
            guard !name.isEmpty, !name.contains(where: { $0 == 0 || (0x41...0x5a).contains($0) }) else {
                throw .malformed("header names are lowercase and not empty")
            }
            headers.pairs.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        guard reader.remaining == 0 else { throw .malformed("bytes after the last header pair") }
        return headers
    }
}

extension [UInt8] {
    mutating func appendUInt32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }
}

/// Reads big-endian fields from a byte array without ever trapping on short input.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func uint32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func byte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func rest() -> [UInt8] { bytes(remaining) ?? [] }
}
