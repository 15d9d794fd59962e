/// Bytes to frames and back for one SPDY session, with the session's two header-compression
/// streams. Input arrives in any pieces (a Go peer writes one frame in several writes); `next()`
/// returns a frame once all of it is there. Anything malformed is a session error: the caller sends
/// GOAWAY(PROTOCOL_ERROR) and closes, since the shared compression state cannot be trusted after it.
public final class SPDYFramer {
    /// Control frames carry small header blocks. A data frame is held whole until it is complete,
    /// so its size is bounded per framer: a server takes 1 MiB (client-go copies in 32 KiB pieces),
    /// which bounds what a hostile client can make each connection hold.
    public static let maxControlPayload = 1 << 20
    public static let maxHeaderBlock = 1 << 20
    public let maxDataPayload: Int

    private var buffer = ByteQueue()
    private let deflater = SPDYDeflater()
    private let inflater = SPDYInflater()

    public init(maxDataPayload: Int = (1 << 24) - 1) { self.maxDataPayload = maxDataPayload }

    public func feed(_ bytes: some Sequence<UInt8>) {
        buffer.append(bytes)
    }

    /// The next complete frame, nil until one is complete. Unknown control types are skipped.
    public func next() throws(SPDYError) -> SPDYFrame? {
        while true {
            guard buffer.count >= 8 else { return nil }
            let word0 = uint32(at: 0), word1 = uint32(at: 4)
            let length = Int(word1 & 0xff_ffff), flags = UInt8(word1 >> 24)
            let control = word0 & 0x8000_0000 != 0
            if control, length > Self.maxControlPayload { throw .tooLarge("a control frame of \(length) bytes") }
            if !control, length > maxDataPayload { throw .tooLarge("a data frame of \(length) bytes") }
            guard buffer.count >= 8 + length else { return nil }
            let payload = Array(buffer.slice(8..<(8 + length)))
            buffer.consume(8 + length)
            guard control else {
                let streamID = word0 & 0x7fff_ffff
                guard streamID != 0 else { throw .malformed("a data frame on stream 0") }
                return .data(streamID: streamID, flags: flags, payload: payload)
            }
            guard (word0 >> 16) & 0x7fff == 3 else { throw .malformed("SPDY version \((word0 >> 16) & 0x7fff)") }
            if let frame = try controlFrame(type: word0 & 0xffff, flags: flags, payload: payload) { return frame }
        }
    }

    private func controlFrame(type: UInt32, flags: UInt8, payload: [UInt8]) throws(SPDYError) -> SPDYFrame? {
        var reader = ByteReader(payload)
        func exactly(_ count: Int, _ name: String) throws(SPDYError) {
            guard payload.count == count else { throw .malformed("\(name) of \(payload.count) bytes") }
        }
        func streamID(_ name: String) throws(SPDYError) -> UInt32 {
            guard let id = reader.uint32().map({ $0 & 0x7fff_ffff }), id != 0 else { throw .malformed("\(name) without a stream id") }
            return id
        }
        switch type {
        case 1:
            guard payload.count >= 10 else { throw .malformed("SYN_STREAM of \(payload.count) bytes") }
            let id = try streamID("SYN_STREAM")
            let associated = reader.uint32()! & 0x7fff_ffff
            let priority = reader.byte()! >> 5
            _ = reader.byte()
            return .synStream(streamID: id, associatedTo: associated, priority: priority, flags: flags, headers: try headers(reader.rest()))
        case 2, 8:
            guard payload.count >= 4 else { throw .malformed("a header frame of \(payload.count) bytes") }
            let id = try streamID(type == 2 ? "SYN_REPLY" : "HEADERS")
            let block = try headers(reader.rest())
            return type == 2 ? .synReply(streamID: id, flags: flags, headers: block) : .headers(streamID: id, flags: flags, headers: block)
        case 3:
            try exactly(8, "RST_STREAM")
            let id = try streamID("RST_STREAM")
            let status = reader.uint32()!
            guard status != 0 else { throw .malformed("RST_STREAM with status 0") }
            return .rstStream(streamID: id, status: status)
        case 4:
            guard let count = reader.uint32(), payload.count == 4 + 8 * Int(count) else { throw .malformed("SETTINGS of \(payload.count) bytes") }
            let entries = (0..<count).map { _ in
                let word = reader.uint32()!
                return SPDYSetting(flags: UInt8(word >> 24), id: word & 0xff_ffff, value: reader.uint32()!)
            }
            return .settings(flags: flags, entries: entries)
        case 6:
            try exactly(4, "PING")
            return .ping(id: reader.uint32()!)
        case 7:
            try exactly(8, "GOAWAY")
            return .goAway(lastGoodStreamID: reader.uint32()! & 0x7fff_ffff, status: reader.uint32()!)
        case 9:
            try exactly(8, "WINDOW_UPDATE")
            return .windowUpdate(streamID: reader.uint32()! & 0x7fff_ffff, delta: reader.uint32()! & 0x7fff_ffff)
        default:
            return nil
        }
    }

    private func headers(_ compressed: [UInt8]) throws(SPDYError) -> SPDYHeaders {
        try SPDYHeaders.decode(try inflater.decompress(compressed, limit: Self.maxHeaderBlock))
    }

    public func encode(_ frame: SPDYFrame) -> [UInt8] {
        func control(_ type: UInt16, _ flags: UInt8, _ body: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x80, 0x03, UInt8(type >> 8), UInt8(truncatingIfNeeded: type)]
            out.appendUInt32(UInt32(flags) << 24 | UInt32(body.count))
            return out + body
        }
        func words(_ values: UInt32...) -> [UInt8] {
            var out: [UInt8] = []
            for value in values { out.appendUInt32(value) }
            return out
        }
        switch frame {
        case .synStream(let id, let associated, let priority, let flags, let headers):
            return control(1, flags, words(id, associated) + [priority << 5, 0] + deflater.compress(headers.encoded()))
        case .synReply(let id, let flags, let headers):
            return control(2, flags, words(id) + deflater.compress(headers.encoded()))
        case .rstStream(let id, let status):
            return control(3, 0, words(id, status))
        case .settings(let flags, let entries):
            return control(4, flags, words(UInt32(entries.count)) + entries.flatMap { words(UInt32($0.flags) << 24 | $0.id & 0xff_ffff, $0.value) })
        case .ping(let id):
            return control(6, 0, words(id))
        case .goAway(let last, let status):
            return control(7, 0, words(last, status))
        case .headers(let id, let flags, let headers):
            return control(8, flags, words(id) + deflater.compress(headers.encoded()))
        case .windowUpdate(let id, let delta):
            return control(9, 0, words(id, delta))
        case .data(let id, let flags, let payload):
            return words(id & 0x7fff_ffff, UInt32(flags) << 24 | UInt32(payload.count)) + payload
        }
    }

    private func uint32(at index: Int) -> UInt32 {
        buffer.slice(index..<index + 4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
