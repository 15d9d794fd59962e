import NIOCore

/// A protocol spoken on an upgraded connection (SPDY, WebSocket, SPDY inside WebSocket): bytes in
/// from its wire, bytes out through it. Everything runs on the connection's event loop.
protocol WireProtocol: AnyObject {
    func receive(_ bytes: [UInt8])
    /// The connection is gone (the client closed it, a reset, the idle timeout).
    func wireClosed()
}

/// The sending half of a connection, for the protocol on it.
final class Wire {
    let channel: Channel
    private(set) var closed = false

    init(channel: Channel) { self.channel = channel }

    var eventLoop: EventLoop { channel.eventLoop }

    func send(_ bytes: [UInt8], flush: Bool = true) {
        guard !closed else { return }
        let buffer = channel.allocator.buffer(bytes: bytes)
        if flush { channel.writeAndFlush(buffer, promise: nil) } else { channel.write(buffer, promise: nil) }
    }

    /// Closes once what was sent has gone out.
    func close() {
        guard !closed else { return }
        closed = true
        channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { [channel] _ in channel.close(promise: nil) }
    }
}

/// The pipeline's last handler once the HTTP upgrade is done: feeds the protocol.
final class WireHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let wireProtocol: WireProtocol

    init(_ wireProtocol: WireProtocol) { self.wireProtocol = wireProtocol }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty { wireProtocol.receive(bytes) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        wireProtocol.wireClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // IdleStateHandler: nothing either way for the configured time.
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
