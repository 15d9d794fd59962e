import NIOCore
import StreamProtocols

/// What a SPDY session serves: remote commands or port forwards. Called on the event loop.
protocol SPDYStreamHandler: AnyObject {
    /// A client stream: return false to refuse it (RST_STREAM), true to accept (SYN_REPLY).
    func opened(_ stream: UInt32, headers: SPDYHeaders) -> Bool
    func data(_ stream: UInt32, _ bytes: [UInt8])
    /// The client's side of `stream` ended: FIN, or `reset`.
    func ended(_ stream: UInt32, reset: Bool)
    func sessionClosed()
}

/// The server side of a SPDY/3.1 session as the kubelet's clients speak it: each client stream is
/// answered at once (client-go waits for that reply before opening the next), client pings are
/// echoed, and there is no flow control (Go's spdystream neither sends nor honours windows, so a
/// window would stall output after 64 KiB). A malformed frame ends the session with
/// GOAWAY(PROTOCOL_ERROR). Nothing is sent before the client's first frame: a Go client reads the
/// 101 through a buffer it then drops, losing whatever came with it.
final class SPDYSession: WireProtocol {
    /// Data frames out are cut at this size, as client-go's own copies are.
    static let chunk = 32 * 1024

    private let framer = SPDYFramer(maxDataPayload: 1 << 20)
    private let send: ([UInt8]) -> Void
    private let closeWire: () -> Void
    /// Held until the session closes (the handler holds the session too: the cycle ends there).
    var handler: SPDYStreamHandler?
    private var lastClientStream: UInt32 = 0
    private var open: Set<UInt32> = []
    private var finished: Set<UInt32> = []
    private(set) var closed = false

    init(send: @escaping ([UInt8]) -> Void, close: @escaping () -> Void) {
        (self.send, self.closeWire) = (send, close)
    }

    func receive(_ bytes: [UInt8]) {
        guard !closed else { return }
        framer.feed(bytes)
        do {
            while !closed, let frame = try framer.next() { handle(frame) }
        } catch {
            goAway(status: 1)
        }
    }

    private func handle(_ frame: SPDYFrame) {
        switch frame {
        case .synStream(let id, _, _, let flags, let headers):
            // Client streams are odd and increasing; a repeated or lower id is refused alone.
            guard id & 1 == 1, id > lastClientStream else { return send(framer.encode(.rstStream(streamID: id, status: SPDYStatus.protocolError))) }
            lastClientStream = id
            guard handler?.opened(id, headers: headers) == true else {
                return send(framer.encode(.rstStream(streamID: id, status: SPDYStatus.cancel)))
            }
            open.insert(id)
            send(framer.encode(.synReply(streamID: id, flags: 0, headers: SPDYHeaders())))
            if flags & SPDYFrame.flagFin != 0 { handler?.ended(id, reset: false) }
        case .data(let id, let flags, let payload):
            guard open.contains(id) else { return }
            if !payload.isEmpty { handler?.data(id, payload) }
            if flags & SPDYFrame.flagFin != 0 { handler?.ended(id, reset: false) }
        case .rstStream(let id, _):
            guard open.remove(id) != nil else { return }
            handler?.ended(id, reset: true)
        case .ping(let id):
            if id & 1 == 1 { send(framer.encode(.ping(id: id))) }
        case .goAway:
            // The client reads nothing more: the session is over for it.
            close()
        case .synReply, .headers, .settings, .windowUpdate:
            break
        }
    }

    /// Data to the client on `stream`, in chunks; `fin` ends the server's side of it.
    func write(_ stream: UInt32, _ bytes: [UInt8], fin: Bool = false) {
        guard !closed, open.contains(stream), !finished.contains(stream) else { return }
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + Self.chunk)
            let last = end == bytes.count
            send(framer.encode(.data(streamID: stream, flags: last && fin ? SPDYFrame.flagFin : 0, payload: Array(bytes[offset..<end]))))
            offset = end
        } while offset < bytes.count
        if fin { finished.insert(stream) }
    }

    func reset(_ stream: UInt32) {
        guard !closed, open.remove(stream) != nil else { return }
        send(framer.encode(.rstStream(streamID: stream, status: SPDYStatus.cancel)))
    }

    /// GOAWAY and close: everything for the session must have been sent before (a Go peer stops
    /// reading at GOAWAY).
    func goAway(status: UInt32 = 0) {
        guard !closed else { return }
        send(framer.encode(.goAway(lastGoodStreamID: lastClientStream, status: status)))
        close()
    }

    private func close() {
        guard !closed else { return }
        closed = true
        closeWire()
        handler?.sessionClosed()
        handler = nil
    }

    func wireClosed() {
        guard !closed else { return }
        closed = true
        handler?.sessionClosed()
        handler = nil
    }
}
