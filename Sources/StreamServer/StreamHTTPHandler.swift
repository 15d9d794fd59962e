import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import StreamProtocols

/// The HTTP/1.1 side of a stream URL: the token is looked up (and used up), the upgrade negotiated
/// (SPDY/3.1 with X-Stream-Protocol-Version, or WebSocket with its subprotocol), the 101 written,
/// and the pipeline handed to the protocol with any bytes the client sent after its request.
/// Refusals follow the kubelet's own server: 404 for a token that is unknown, used, expired or of
/// another kind; 400 without a protocol header or upgrade; 403 with no protocol in common.
final class StreamHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: StreamServer
    private var head: HTTPRequestHead?

    init(server: StreamServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            route(context, head)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { return context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    private func route(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let parts = head.uri.split(separator: "?", maxSplits: 1)[0].split(separator: "/").map(String.init)
        guard parts.count == 2, let request = server.cache.consume(parts[1], kind: parts[0]) else {
            return respond(context, .notFound, "404 page not found\n")
        }
        let headers = head.headers
        let connection = headers["connection"].joined(separator: ",").lowercased()
        let upgrade = headers["upgrade"].joined(separator: ",").lowercased()
        guard connection.contains("upgrade") else { return respond(context, .badRequest, "unable to upgrade: missing upgrade headers in request\n") }
        if upgrade == "websocket" {
            webSocket(context, head, request)
        } else if upgrade.contains("spdy/3.1") {
            spdy(context, head, request)
        } else {
            respond(context, .badRequest, "unable to upgrade: missing upgrade headers in request\n")
        }
    }

    private func spdy(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ request: StreamRequest) {
        let offered = head.headers["x-stream-protocol-version"]
        guard offered.contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            return respond(context, .badRequest, "unable to upgrade: header X-Stream-Protocol-Version does not exist in request\n")
        }
        let supported = request.kind == "portforward" ? ["portforward.k8s.io"] : RemoteCommandProtocol.spdy.map(\.rawValue)
        guard let chosen = offered.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: supported.contains) else {
            var extra = HTTPHeaders()
            for name in supported { extra.add(name: "X-Accepted-Stream-Protocol-Versions", value: name) }
            return respond(context, .forbidden, "unable to upgrade: unable to negotiate protocol: client supports \(offered), server accepts \(supported)\n", extra)
        }
        let wire = Wire(channel: context.channel)
        let spdy = SPDYSession(send: { [wire] in wire.send($0) }, close: { [wire] in wire.close() })
        if case .portForward(let sandboxID, _) = request {
            _ = SPDYPortForward(spdy: spdy, sandboxID: sandboxID, runtime: server.runtime, eventLoop: context.eventLoop)
        } else {
            let version = RemoteCommandProtocol(rawValue: chosen)!
            let session = RemoteCommandSession(request: request, version: version, runtime: server.runtime, eventLoop: context.eventLoop)
            _ = SPDYRemoteCommand(spdy: spdy, session: session, version: version, request: request, eventLoop: context.eventLoop)
        }
        upgradeTo(spdy, context, [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"), ("X-Stream-Protocol-Version", chosen)])
    }

    private func webSocket(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ request: StreamRequest) {
        guard head.method == .GET, head.headers["sec-websocket-version"].first == "13",
              let key = head.headers["sec-websocket-key"].first, !key.isEmpty else {
            return respond(context, .badRequest, "unable to upgrade: not a version 13 WebSocket handshake\n")
        }
        let offered = head.headers["sec-websocket-protocol"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let accept = WebSocketCodec.acceptKey(key) { Array(Insecure.SHA1.hash(data: $0)) }
        var response: [(String, String)] = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)]
        let wire = Wire(channel: context.channel)
        let wireProtocol: WireProtocol
        switch request {
        case .portForward:
            guard offered.contains("SPDY/3.1+portforward.k8s.io") else {
                return respond(context, .forbidden, "unable to upgrade: port forwarding over WebSocket needs SPDY/3.1+portforward.k8s.io\n")
            }
            let tunnel = WebSocketTunnel(wire: wire)
            if case .portForward(let sandboxID, _) = request {
                _ = SPDYPortForward(spdy: tunnel.spdy, sandboxID: sandboxID, runtime: server.runtime, eventLoop: context.eventLoop)
            }
            response.append(("Sec-WebSocket-Protocol", "SPDY/3.1+portforward.k8s.io"))
            wireProtocol = tunnel
        case .exec(_, _, _, _, let stdout, let stderr), .attach(_, _, _, let stdout, let stderr):
            // No subprotocol asked: channel.k8s.io's framing without its name in the reply.
            let version: RemoteCommandProtocol
            if offered.isEmpty {
                version = .v1
            } else if let chosen = RemoteCommandProtocol.negotiate(offered, RemoteCommandProtocol.webSocket) {
                version = chosen
                response.append(("Sec-WebSocket-Protocol", chosen.rawValue))
            } else {
                return respond(context, .forbidden, "unable to upgrade: no supported WebSocket subprotocol in \(offered)\n")
            }
            let session = RemoteCommandSession(request: request, version: version, runtime: server.runtime, eventLoop: context.eventLoop)
            let tty: Bool = if case .exec(_, _, let tty, _, _, _) = request { tty } else if case .attach(_, let tty, _, _, _) = request { tty } else { false }
            let first: UInt8 = stdout ? 1 : (stderr && !tty ? 2 : 3)
            let channels = WebSocketChannels(wire: wire, version: version, session: session, firstChannel: first)
            // The channels talk first, once the pipeline no longer speaks HTTP.
            if upgradeTo(channels, context, response) { channels.begin() }
            return
        }
        upgradeTo(wireProtocol, context, response)
    }

    @discardableResult
    private func upgradeTo(_ wireProtocol: WireProtocol, _ context: ChannelHandlerContext, _ headers: [(String, String)]) -> Bool {
        var head = HTTPResponseHead(version: .http1_1, status: .switchingProtocols)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        return install(wireProtocol, context)
    }

    /// The HTTP handlers leave; the request decoder last, handing on bytes it already holds.
    private func install(_ wireProtocol: WireProtocol, _ context: ChannelHandlerContext) -> Bool {
        let pipeline = context.pipeline.syncOperations
        do {
            // The request's own timeout gives way to the stream's idle timeout.
            if let requestTimer = try? pipeline.handler(type: IdleStateHandler.self) { pipeline.removeHandler(requestTimer, promise: nil) }
            try pipeline.addHandler(IdleStateHandler(allTimeout: .seconds(server.config.idleTimeout)))
            try pipeline.addHandler(WireHandler(wireProtocol))
            if let encoder = try? pipeline.handler(type: HTTPResponseEncoder.self) { pipeline.removeHandler(encoder, promise: nil) }
            pipeline.removeHandler(context: context, promise: nil)
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) { pipeline.removeHandler(decoder, promise: nil) }
            return true
        } catch {
            context.close(promise: nil)
            return false
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ body: String, _ extra: HTTPHeaders = [:]) {
        var head = HTTPResponseHead(version: .http1_1, status: status, headers: extra)
        head.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
