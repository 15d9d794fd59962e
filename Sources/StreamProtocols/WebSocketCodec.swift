/// RFC 6455 framing for both ends of Kubernetes' channel protocols: a server reads masked frames and
/// writes plain ones, a client the reverse. Fragments are joined into messages up to a size bound;
/// control frames may interleave with fragments but are never fragmented themselves. No extension
/// is ever negotiated, so a set RSV bit is an error, as is an unknown opcode.
public final class WebSocketCodec {
    public enum Role: Sendable { case server, client }

    public enum Message: Equatable, Sendable {
        case text([UInt8])
        case binary([UInt8])
        case close(code: UInt16?, reason: [UInt8])
        case ping([UInt8])
        case pong([UInt8])
    }

    public enum Opcode: UInt8, Sendable {
        case continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case protocolError(String)
        case tooBig(Int)

        /// The close code the peer is told: 1002 protocol error, 1009 message too big.
        public var closeCode: UInt16 {
            switch self {
            case .protocolError: 1002
            case .tooBig: 1009
            }
        }

        public var description: String {
            switch self {
            case .protocolError(let why): "WebSocket protocol error: \(why)"
            case .tooBig(let size): "WebSocket message of \(size) bytes is over the limit"
            }
        }
    }

    public let role: Role
    public let maxMessage: Int
    private var buffer = ByteQueue()
    private var fragments: (opcode: Opcode, bytes: [UInt8])?

    public init(role: Role, maxMessage: Int = 16 << 20) {
        self.role = role
        self.maxMessage = maxMessage
    }

    public func feed(_ bytes: some Sequence<UInt8>) {
        buffer.append(bytes)
    }

    /// The next whole message, nil until one is complete.
    public func next() throws(Failure) -> Message? {
        while let (fin, opcode, payload) = try frame() {
            switch opcode {
            case .close:
                guard payload.count != 1 else { throw .protocolError("a close frame of 1 byte") }
                let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
                return .close(code: code, reason: Array(payload.dropFirst(2)))
            case .ping: return .ping(payload)
            case .pong: return .pong(payload)
            case .text, .binary:
                guard fragments == nil else { throw .protocolError("a new message inside a fragmented one") }
                if fin { return opcode == .text ? .text(payload) : .binary(payload) }
                fragments = (opcode, payload)
            case .continuation:
                guard var pending = fragments else { throw .protocolError("a continuation frame without a message") }
                pending.bytes += payload
                guard pending.bytes.count <= maxMessage else { throw .tooBig(pending.bytes.count) }
                guard fin else { fragments = pending; continue }
                fragments = nil
                return pending.opcode == .text ? .text(pending.bytes) : .binary(pending.bytes)
            }
        }
        return nil
    }

    private func frame() throws(Failure) -> (Bool, Opcode, [UInt8])? {
        let available = buffer.count
        guard available >= 2 else { return nil }
        let first = buffer[0], second = buffer[1]
        guard first & 0x70 == 0 else { throw .protocolError("reserved bits set") }
        guard let opcode = Opcode(rawValue: first & 0x0f) else { throw .protocolError("opcode \(first & 0x0f)") }
        let fin = first & 0x80 != 0, masked = second & 0x80 != 0
        guard masked == (role == .server) else {
            throw .protocolError(role == .server ? "an unmasked frame from a client" : "a masked frame from a server")
        }
        var header = 2
        var length = UInt64(second & 0x7f)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[2]) << 8 | UInt64(buffer[3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = buffer.slice(2..<10).reduce(0) { $0 << 8 | UInt64($1) }
            guard length >> 63 == 0 else { throw .protocolError("a 64-bit length with its top bit set") }
            header = 10
        }
        if opcode.rawValue >= 8 {
            guard fin, length <= 125 else { throw .protocolError("a fragmented or long control frame") }
        }
        guard length <= UInt64(maxMessage) else { throw .tooBig(Int(clamping: length)) }
        let total = header + (masked ? 4 : 0) + Int(length)
        guard available >= total else { return nil }
        var payload = Array(buffer.slice((total - Int(length))..<total))
        if masked {
            let key = Array(buffer.slice(header..<(header + 4)))
            for index in payload.indices { payload[index] ^= key[index & 3] }
        }
        buffer.consume(total)
        return (fin, opcode, payload)
    }

    /// One whole frame. A client masks with `mask` (four random bytes); a server passes nil.
    public static func encode(_ opcode: Opcode, _ payload: [UInt8], fin: Bool = true, mask: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode.rawValue]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        switch payload.count {
        case ..<126: out.append(maskBit | UInt8(payload.count))
        case ..<65536: out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default:
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> UInt64(shift))) }
        }
        guard let mask, mask.count == 4 else { return out + payload }
        out += mask
        out.reserveCapacity(out.count + payload.count)
        for (index, byte) in payload.enumerated() { out.append(byte ^ mask[index & 3]) }
        return out
    }

    /// The handshake's Sec-WebSocket-Accept for a client's Sec-WebSocket-Key, given SHA-1 (the
    /// caller's crypto library): base64 of SHA-1 over the key and RFC 6455's fixed GUID.
    public static func acceptKey(_ key: String, sha1: ([UInt8]) -> [UInt8]) -> String {
        base64(sha1(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = Array(bytes[start..<min(start + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for index in 0..<4 {
                out.append(index <= chunk.count ? alphabet[Int((value >> (18 - 6 * UInt32(index))) & 63)] : UInt8(ascii: "="))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xff)] + Array(reason.utf8.prefix(123))
    }
}
