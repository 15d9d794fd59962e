import GRPCNIOTransportHTTP2
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The limits a client of skiffd's socket meets (README, "What a client can expect"), and how
/// they are put on grpc-swift-2's HTTP/2 transport.
public enum TransportLimits {
    /// Request metadata over this is RESOURCE_EXHAUSTED for the one call (`RequestGuard`).
    public static let maxMetadataSize = 16 * 1024
    /// What HTTP/2 accepts as one header block. NIOHTTP2 fails the whole connection on a larger
    /// block, and grpc-swift-2 advertises 16 KiB, so a client sending 20 KB of metadata took every
    /// call on its connection down. Decoding up to this much keeps such a mistake to its own call.
    public static let headerBlockLimit = 1 << 20
    /// Advertised in SETTINGS, so that clients queue their calls instead of overrunning the
    /// HTTP/2 library's unadvertised default of 100, a connection error.
    public static let maxConcurrentStreams = 1000

    public static func apply(to config: inout HTTP2ServerTransport.Posix.Config, maxMessageSize: Int) {
        config.rpc.maxRequestPayloadSize = maxMessageSize
        config.http2.maxConcurrentStreams = maxConcurrentStreams
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HeaderBlockLimitAdvertiser(), position: .last)
            }
        }
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
            channel.eventLoop.makeCompletedFuture {
                // First, so it sees each frame before grpc-swift-2's stream handler does.
                try channel.pipeline.syncOperations.addHandler(
                    RequestGuard(maxMessageSize: maxMessageSize, maxMetadataSize: maxMetadataSize), position: .first)
            }
        }
    }
}

/// Sends a second SETTINGS frame, as soon as the connection is up, raising the header list size
/// the transport advertised. NIOHTTP2 applies it to its decoder once the client acknowledges it.
final class HeaderBlockLimitAdvertiser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var sent = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { advertise(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        advertise(context: context)
        context.fireChannelActive()
    }

    private func advertise(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let settings = HTTP2Settings([HTTP2Setting(parameter: .maxHeaderListSize, value: TransportLimits.headerBlockLimit)])
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .settings(.settings(settings)))), promise: nil)
    }
}
