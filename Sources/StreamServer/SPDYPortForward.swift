import NIOCore
import NIOPosix
import StreamProtocols

/// Port forwarding over SPDY (`portforward.k8s.io`): each forwarded connection is a pair of client
/// streams, `error` then `data`, sharing a `requestid` and naming the `port`. Once both are there
/// the pod's port is dialled inside its network namespace and bytes are copied both ways; a failure
/// is written on the error stream, which makes client-go end the whole forward. Many pairs may be
/// open on one session.
final class SPDYPortForward: SPDYStreamHandler {
    private struct Pair {
        var port: UInt16
        var error: UInt32?
        var data: UInt32?
        var socket: Channel?
        /// What the client sent before the pod's port answered.
        var pending: [[UInt8]] = []
        var clientDone = false
    }

    private let spdy: SPDYSession
    private let sandboxID: String
    private let runtime: any StreamRuntime
    private let eventLoop: EventLoop
    private var pairs: [String: Pair] = [:]
    private var requestOf: [UInt32: String] = [:]

    init(spdy: SPDYSession, sandboxID: String, runtime: any StreamRuntime, eventLoop: EventLoop) {
        (self.spdy, self.sandboxID, self.runtime, self.eventLoop) = (spdy, sandboxID, runtime, eventLoop)
        spdy.handler = self
    }

    func opened(_ stream: UInt32, headers: SPDYHeaders) -> Bool {
        guard let type = headers["streamtype"], type == "data" || type == "error",
              let port = headers["port"].flatMap(UInt16.init), port > 0 else { return false }
        // Without a request id, the pairing of older clients: the data stream follows its error stream.
        let request = headers["requestid"] ?? String(type == "error" ? stream : stream &- 2)
        var pair = pairs[request] ?? Pair(port: port)
        if type == "error" { guard pair.error == nil else { return false }; pair.error = stream }
        if type == "data" { guard pair.data == nil else { return false }; pair.data = stream }
        pair.port = type == "data" ? port : pair.port
        pairs[request] = pair
        requestOf[stream] = request
        if pair.error != nil, pair.data != nil { eventLoop.execute { self.connect(request) } }
        return true
    }

    private func connect(_ request: String) {
        guard let pair = pairs[request] else { return }
        let (runtime, sandboxID, port) = (runtime, sandboxID, pair.port)
        eventLoop.makeFutureWithTask { try await runtime.dial(sandboxID: sandboxID, port: port) }
            .flatMap { fd in
                ClientBootstrap(group: self.eventLoop)
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(PipeReader(
                                data: { [weak self] bytes in self?.fromPod(request, bytes) },
                                ended: { [weak self] in self?.podEnded(request) }))
                        }
                    }
                    .withConnectedSocket(fd)
            }
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard let pair = self.pairs[request] else { return channel.close(promise: nil) }
                    self.pairs[request]?.socket = channel
                    self.pairs[request]?.pending = []
                    for bytes in pair.pending { channel.write(channel.allocator.buffer(bytes: bytes), promise: nil) }
                    channel.flush()
                    if pair.clientDone { channel.close(mode: .output, promise: nil) }
                case .failure(let error):
                    self.fail(request, "error forwarding port \(port) to pod \(sandboxID), uid : \(error)")
                }
            }
    }

    private func fromPod(_ request: String, _ bytes: [UInt8]) {
        guard let data = pairs[request]?.data else { return }
        spdy.write(data, bytes)
    }

    private func podEnded(_ request: String) {
        guard let pair = pairs.removeValue(forKey: request) else { return }
        if let data = pair.data { spdy.write(data, [], fin: true) }
        if let error = pair.error { spdy.write(error, [], fin: true) }
        pair.socket?.close(promise: nil)
    }

    private func fail(_ request: String, _ message: String) {
        guard let pair = pairs.removeValue(forKey: request) else { return }
        if let error = pair.error { spdy.write(error, Array(message.utf8), fin: true) }
        if let data = pair.data { spdy.reset(data) }
    }

    func data(_ stream: UInt32, _ bytes: [UInt8]) {
        guard let request = requestOf[stream], let pair = pairs[request], stream == pair.data else { return }
        guard let socket = pair.socket else { return pairs[request]?.pending.append(bytes) ?? () }
        socket.writeAndFlush(socket.allocator.buffer(bytes: bytes), promise: nil)
    }

    func ended(_ stream: UInt32, reset: Bool) {
        guard let request = requestOf.removeValue(forKey: stream), var pair = pairs[request], stream == pair.data else { return }
        // The client's side of the connection ended: the pod's socket is half-closed (or closed on a reset).
        pair.clientDone = true
        pairs[request] = pair
        if reset { pair.socket?.close(promise: nil) } else { pair.socket?.close(mode: .output, promise: nil) }
    }

    func sessionClosed() {
        for pair in pairs.values { pair.socket?.close(promise: nil) }
        pairs.removeAll()
    }
}
