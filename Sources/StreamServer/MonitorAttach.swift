/// The monitor's attach framing (`CShims/monitor/attach.h`): `[kind u8][length u32 BE][payload]`.
/// From the monitor: 1 stdout, 2 stderr. To it: 0 stdin, 1 the end of stdin, 2 a terminal size.
enum MonitorAttach {
    static let maxFrame = 65536

    static func frame(_ kind: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        repeat {
            let end = min(payload.count, offset + maxFrame)
            let length = UInt32(end - offset)
            out += [kind, UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
            out += payload[offset..<end]
            offset = end
        } while offset < payload.count
        return out
    }

    static func resize(width: UInt16, height: UInt16) -> [UInt8] {
        frame(2, [UInt8(width >> 8), UInt8(width & 0xff), UInt8(height >> 8), UInt8(height & 0xff)])
    }
}

/// The monitor's frames as they arrive in pieces: whole ones come out, a frame of another kind or
/// over the bound is an error (the connection is then closed).
struct MonitorAttachDecoder {
    struct Malformed: Error {}
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8]) throws(Malformed) -> [(OutputStream, [UInt8])] {
        pending += bytes
        var frames: [(OutputStream, [UInt8])] = []
        var at = 0
        while pending.count - at >= 5 {
            let length = pending[(at + 1)..<(at + 5)].reduce(0) { $0 << 8 | Int($1) }
            guard length <= MonitorAttach.maxFrame, pending[at] == 1 || pending[at] == 2 else { throw Malformed() }
            guard pending.count - at >= 5 + length else { break }
            frames.append((pending[at] == 1 ? .stdout : .stderr, Array(pending[(at + 5)..<(at + 5 + length)])))
            at += 5 + length
        }
        pending.removeFirst(at)
        return frames
    }
}
