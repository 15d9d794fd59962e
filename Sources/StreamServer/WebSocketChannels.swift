import Foundation
import StreamProtocols

/// Exec and attach over WebSocket with Kubernetes' channel framing: each message starts with its
/// channel (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize), raw bytes in binary messages, or in
/// the base64 protocols a digit and base64 text. v5 adds the close signal `[255, channel]`, the
/// only way its clients end stdin without closing the connection. The session ends with a Close
/// frame 1000, which client-go needs to read its streams to a clean end.
final class WebSocketChannels: WireProtocol, RemoteCommandTransport {
    private let codec = WebSocketCodec(role: .server, maxMessage: 1 << 20)
    private let wire: Wire
    private let version: RemoteCommandProtocol
    private let session: RemoteCommandSession
    private var closing = false

    private let firstChannel: UInt8

    init(wire: Wire, version: RemoteCommandProtocol, session: RemoteCommandSession, firstChannel: UInt8) {
        (self.wire, self.version, self.session, self.firstChannel) = (wire, version, session, firstChannel)
        session.transport = self
    }

    /// Once the pipeline speaks WebSocket: an empty message on the lowest channel the server
    /// writes tells the client the streams are up, and the command starts.
    func begin() {
        send(firstChannel, [])
        session.start()
    }

    func receive(_ bytes: [UInt8]) {
        codec.feed(bytes)
        do {
            while !closing, let message = try codec.next() { handle(message) }
        } catch {
            closeWith(error.closeCode)
            session.clientGone()
        }
    }

    private func handle(_ message: WebSocketCodec.Message) {
        switch message {
        case .binary(let bytes), .text(let bytes):
            guard let (channel, payload) = decode(bytes) else { return }
            switch channel {
            case 0: session.stdin(payload)
            case 4: session.resize(payload)
            case 255 where version == .v5 && payload == [0]: session.stdinClosed()
            default: break
            }
        case .ping(let payload):
            wire.send(WebSocketCodec.encode(.pong, payload))
        case .pong:
            break
        case .close:
            closeWith(1000)
            session.clientGone()
        }
    }

    private func decode(_ bytes: [UInt8]) -> (UInt8, [UInt8])? {
        guard let first = bytes.first else { return nil }
        guard version.base64Text else { return (first, Array(bytes.dropFirst())) }
        guard first >= UInt8(ascii: "0"), let data = Data(base64Encoded: Data(bytes.dropFirst())) else { return nil }
        return (first - UInt8(ascii: "0"), Array(data))
    }

    private func send(_ channel: UInt8, _ bytes: [UInt8]) {
        if version.base64Text {
            wire.send(WebSocketCodec.encode(.text, [UInt8(ascii: "0") + channel] + Array(Data(bytes).base64EncodedString().utf8)))
        } else {
            wire.send(WebSocketCodec.encode(.binary, [channel] + bytes))
        }
    }

    func write(_ stream: OutputStream, _ bytes: [UInt8]) {
        guard !closing else { return }
        let channel: UInt8 = switch stream {
        case .stdout: 1
        case .stderr: 2
        case .error: 3
        }
        // Large outputs in pieces: one message per read of the process's pipe is already small.
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + 32 * 1024)
            send(channel, Array(bytes[offset..<end]))
            offset = end
        } while offset < bytes.count
    }

    func finish() { closeWith(1000) }

    private func closeWith(_ code: UInt16) {
        guard !closing else { return }
        closing = true
        wire.send(WebSocketCodec.encode(.close, WebSocketCodec.closePayload(code)))
        wire.close()
    }

    func wireClosed() { session.clientGone() }
}

/// SPDY carried in WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`, kubectl 1.31+'s
/// port-forward): message boundaries mean nothing, the bytes are one SPDY session.
final class WebSocketTunnel: WireProtocol {
    private let codec = WebSocketCodec(role: .server, maxMessage: 1 << 20)
    private let wire: Wire
    private(set) var spdy: SPDYSession!

    init(wire: Wire) {
        self.wire = wire
        spdy = SPDYSession(send: { [wire] in wire.send(WebSocketCodec.encode(.binary, $0)) },
                           close: { [wire] in
                               wire.send(WebSocketCodec.encode(.close, WebSocketCodec.closePayload(1000)))
                               wire.close()
                           })
    }

    func receive(_ bytes: [UInt8]) {
        codec.feed(bytes)
        do {
            while let message = try codec.next() {
                switch message {
                case .binary(let payload): spdy.receive(payload)
                case .text: spdy.goAway(status: 1)
                case .ping(let payload): wire.send(WebSocketCodec.encode(.pong, payload))
                case .pong: break
                case .close: spdy.goAway()
                }
            }
        } catch {
            spdy.goAway(status: 1)
        }
    }

    func wireClosed() { spdy.wireClosed() }
}
