/// D-Bus messages in the little-endian wire format: the subset a client of systemd's Manager needs
/// (method calls with strings, booleans, integers, arrays, structs and variants; replies, errors and
/// signals read back). Pure, so the bytes are unit-tested against the specification's layout.
public struct DBusMessage: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case methodCall = 1, methodReturn = 2, error = 3, signal = 4
    }

    public var kind: Kind
    public var serial: UInt32
    public var path: String?
    public var interface: String?
    public var member: String?
    public var errorName: String?
    public var replySerial: UInt32?
    public var destination: String?
    public var signature: String
    public var body: [UInt8]

    public init(kind: Kind, serial: UInt32, path: String? = nil, interface: String? = nil, member: String? = nil,
                errorName: String? = nil, replySerial: UInt32? = nil, destination: String? = nil,
                signature: String = "", body: [UInt8] = []) {
        self.kind = kind
        self.serial = serial
        self.path = path
        self.interface = interface
        self.member = member
        self.errorName = errorName
        self.replySerial = replySerial
        self.destination = destination
        self.signature = signature
        self.body = body
    }

    /// The whole message: fixed header, header fields, padding to 8, body.
    public var bytes: [UInt8] {
        var w = DBusWriter()
        w.byte(UInt8(ascii: "l"))
        w.byte(kind.rawValue)
        w.byte(0)
        w.byte(1)
        w.uint32(UInt32(body.count))
        w.uint32(serial)
        w.array(alignment: 8) { w in
            func field(_ code: UInt8, _ value: DBusValue?) {
                guard let value else { return }
                w.structure { w in
                    w.byte(code)
                    w.variant(value)
                }
            }
            field(1, path.map(DBusValue.objectPath))
            field(2, interface.map(DBusValue.string))
            field(3, member.map(DBusValue.string))
            field(4, errorName.map(DBusValue.string))
            field(5, replySerial.map(DBusValue.uint32))
            field(6, destination.map(DBusValue.string))
            field(8, signature.isEmpty ? nil : .signature(signature))
        }
        w.align(8)
        return w.bytes + body
    }

    /// The length of the message whose first 16 bytes are `prefix`, or nil if they are not a
    /// little-endian D-Bus header.
    public static func length(ofHeader prefix: [UInt8]) -> Int? {
        guard prefix.count >= 16, prefix[0] == UInt8(ascii: "l") else { return nil }
        var r = DBusReader(prefix)
        r.offset = 4
        guard let body = try? r.uint32(), (try? r.uint32()) != nil, let fields = try? r.uint32() else { return nil }
        let header = 16 + Int(fields)
        return (header + 7) / 8 * 8 + Int(body)
    }

    /// Parses one complete message.
    public init(parsing bytes: [UInt8]) throws(DBusError) {
        var r = DBusReader(bytes)
        guard try r.byte() == UInt8(ascii: "l") else { throw .malformed("not little-endian") }
        guard let kind = Kind(rawValue: try r.byte()) else { throw .malformed("unknown message type") }
        _ = try r.byte()
        guard try r.byte() == 1 else { throw .malformed("protocol version") }
        let bodyLength = Int(try r.uint32())
        self.init(kind: kind, serial: try r.uint32())
        let fieldsEnd = Int(try r.uint32()) + r.offset
        while r.offset < fieldsEnd {
            r.align(8)
            let code = try r.byte()
            let value = try r.variant()
            switch (code, value) {
            case (1, .objectPath(let v)): path = v
            case (2, .string(let v)): interface = v
            case (3, .string(let v)): member = v
            case (4, .string(let v)): errorName = v
            case (5, .uint32(let v)): replySerial = v
            case (6, .string(let v)): destination = v
            case (8, .signature(let v)): signature = v
            default: break
            }
        }
        r.align(8)
        guard r.offset + bodyLength <= bytes.count else { throw .malformed("body cut short") }
        body = Array(bytes[r.offset..<r.offset + bodyLength])
    }

    /// The body's values, read by its signature (the types this client meets).
    public func values() throws(DBusError) -> [DBusValue] {
        var r = DBusReader(body)
        var out: [DBusValue] = []
        for type in signature {
            switch type {
            case "s": out.append(.string(try r.string()))
            case "o": out.append(.objectPath(try r.string()))
            case "u": out.append(.uint32(try r.uint32()))
            case "b": out.append(.bool(try r.uint32() != 0))
            case "t": out.append(.uint64(try r.uint64()))
            default: return out // the rest is not needed by any caller
            }
        }
        return out
    }
}

public enum DBusError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case io(String)
    case refused(name: String, message: String)
    case timeout(String)

    public var description: String {
        switch self {
        case .malformed(let m): "malformed D-Bus message: \(m)"
        case .io(let m): "D-Bus: \(m)"
        case .refused(let name, let message): "\(name): \(message)"
        case .timeout(let m): "D-Bus: no answer to \(m)"
        }
    }
}
