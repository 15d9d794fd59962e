import NIOCore

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

/// Reads the monitor's frames for a session; the connection's end is the attach's end.
final class MonitorAttachReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let data: (OutputStream, [UInt8]) -> Void
    private let ended: () -> Void
    private var pending: [UInt8] = []
    private var over = false

    init(data: @escaping (OutputStream, [UInt8]) -> Void, ended: @escaping () -> Void) { (self.data, self.ended) = (data, ended) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        var at = 0
        while pending.count - at >= 5 {
            let length = pending[(at + 1)..<(at + 5)].reduce(0) { $0 << 8 | Int($1) }
            guard length <= MonitorAttach.maxFrame, pending[at] == 1 || pending[at] == 2 else { return finish(context) }
            guard pending.count - at >= 5 + length else { break }
            self.data(pending[at] == 1 ? .stdout : .stderr, Array(pending[(at + 5)..<(at + 5 + length)]))
            at += 5 + length
        }
        pending.removeFirst(at)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { finish(context) }
    }

    func channelInactive(context: ChannelHandlerContext) { finish(context) }

    func errorCaught(context: ChannelHandlerContext, error: Error) { finish(context) }

    private func finish(_ context: ChannelHandlerContext) {
        guard !over else { return }
        over = true
        ended()
        context.close(promise: nil)
    }
}
