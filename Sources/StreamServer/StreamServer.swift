import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The streaming server behind Exec, Attach and PortForward: the RPC validates the request and
/// gets a URL with a single-use token; the client (the kubelet's proxy, critest, skiffctl) then
/// connects and upgrades. Plain HTTP/1.1, or HTTPS with a configured certificate.
public final class StreamServer: Sendable {
    public struct Config: Sendable {
        public var address = "127.0.0.1"
        public var port = 0
        public var tlsCert = ""
        public var tlsKey = ""
        public var idleTimeout: Int64 = 4 * 3600
        public var maxStreams = 128
        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case notStarted
        case unavailable(String)
        case tooManyRequests(String)
        case configuration(String)

        public var description: String {
            switch self {
            case .notStarted: "the streaming server is not running"
            case .unavailable(let why): "the streaming server cannot start: \(why)"
            case .tooManyRequests(let why): why
            case .configuration(let why): why
            }
        }
    }

    /// How long a client may take to send its upgrade request.
    static let requestTimeout: TimeAmount = .seconds(30)

    let config: Config
    let runtime: any StreamRuntime
    public let cache: StreamRequestCache
    private let state = Mutex<(channel: Channel?, base: String, active: Int)>((nil, "", 0))

    public init(config: Config, runtime: any StreamRuntime, cache: StreamRequestCache = StreamRequestCache()) {
        (self.config, self.runtime, self.cache) = (config, runtime, cache)
    }

    /// Binds and serves; returns the base URL (`http://127.0.0.1:PORT/`), with the port chosen
    /// when the configuration says 0.
    @discardableResult
    public func start() async throws -> String {
        if let base = state.withLock({ $0.channel == nil ? nil : $0.base }) { return base }
        guard config.tlsCert.isEmpty == config.tlsKey.isEmpty else {
            throw Failure.configuration("stream.tls_cert and stream.tls_key go together")
        }
        let tls: NIOSSLContext? = try config.tlsCert.isEmpty ? nil : NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(config.tlsCert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: config.tlsKey, format: .pem))))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    guard self.admit(channel) else {
                        // Over the cap: a plain 429 before any protocol, so the client learns why.
                        try pipeline.addHandler(IdleStateHandler(readTimeout: Self.requestTimeout))
                        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                        try pipeline.addHandler(HTTPResponseEncoder())
                        try pipeline.addHandler(TooManyStreams(limit: self.config.maxStreams))
                        return
                    }
                    // A connection that never finishes its request would hold a place under the cap.
                    try pipeline.addHandler(IdleStateHandler(readTimeout: Self.requestTimeout))
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try pipeline.addHandler(HTTPResponseEncoder())
                    try pipeline.addHandler(StreamHTTPHandler(server: self))
                }
            }
            .bind(host: config.address, port: config.port).get()
        guard let port = channel.localAddress?.port else { throw Failure.notStarted }
        let host = config.address.contains(":") ? "[\(config.address)]" : config.address
        let base = "\(tls == nil ? "http" : "https")://\(host):\(port)/"
        state.withLock { $0 = (channel, base, 0) }
        return base
    }

    /// Counts the connection while it lasts; false when the cap is reached.
    private func admit(_ channel: Channel) -> Bool {
        let admitted = state.withLock { state in
            guard state.active < config.maxStreams else { return false }
            state.active += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.state.withLock { $0.active -= 1 } } }
        return admitted
    }

    /// Remembers the request and returns its URL.
    public func url(for request: StreamRequest) throws -> String {
        let base = state.withLock { $0.base }
        guard !base.isEmpty else { throw Failure.notStarted }
        do {
            return base + request.kind + "/" + (try cache.insert(request))
        } catch {
            throw Failure.tooManyRequests(error.description)
        }
    }

    public var activeStreams: Int { state.withLock { $0.active } }

    public var isRunning: Bool { state.withLock { $0.channel != nil } }

    public func stop() async {
        let channel = state.withLock { state in
            defer { state = (nil, "", state.active) }
            return state.channel
        }
        try? await channel?.close()
    }
}

/// The answer past `max_streams`.
final class TooManyStreams: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = "too many streams: at most \(limit) are served at once\n"
        var head = HTTPResponseHead(version: .http1_1, status: .tooManyRequests)
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        head.headers.add(name: "Retry-After", value: "5")
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }
}
