import NIOCore
import StreamProtocols

/// Exec and attach over SPDY: the client opens one stream per channel, each named by its
/// `streamtype` header (error, stdin, stdout, stderr, resize); the command starts once every stream
/// the request implies is there, within the creation timeout. At the end the output streams get
/// their FIN after the status, input streams a reset, and the client closes the connection once it
/// has read everything (closing first could lose output it has not read yet).
final class SPDYRemoteCommand: SPDYStreamHandler, RemoteCommandTransport {
    static let creationTimeout: TimeAmount = .seconds(30)
    static let closeGrace: TimeAmount = .seconds(60)

    private let spdy: SPDYSession
    private let session: RemoteCommandSession
    private let eventLoop: EventLoop
    private var streams: [String: UInt32] = [:]
    private let expected: Set<String>
    private var started = false

    init(spdy: SPDYSession, session: RemoteCommandSession, version: RemoteCommandProtocol, request: StreamRequest, eventLoop: EventLoop) {
        (self.spdy, self.session, self.eventLoop) = (spdy, session, eventLoop)
        var expected: Set<String> = ["error"]
        if case .exec(_, _, let tty, let stdin, let stdout, let stderr) = request {
            expected.formUnion(Self.names(tty: tty, stdin: stdin, stdout: stdout, stderr: stderr, resize: version.resizes))
        } else if case .attach(_, let tty, let stdin, let stdout, let stderr) = request {
            expected.formUnion(Self.names(tty: tty, stdin: stdin, stdout: stdout, stderr: stderr, resize: version.resizes))
        }
        self.expected = expected
        spdy.handler = self
        session.transport = self
        eventLoop.scheduleTask(in: Self.creationTimeout) { [weak self] in
            guard let self, !self.started else { return }
            self.spdy.goAway()
        }
    }

    private static func names(tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool, resize: Bool) -> [String] {
        (stdin ? ["stdin"] : []) + (stdout ? ["stdout"] : []) + (stderr && !tty ? ["stderr"] : []) + (tty && resize ? ["resize"] : [])
    }

    func opened(_ stream: UInt32, headers: SPDYHeaders) -> Bool {
        // Unknown or unasked-for streams are accepted and ignored, as the kubelet's server does.
        if let type = headers["streamtype"]?.lowercased(), expected.contains(type), streams[type] == nil {
            streams[type] = stream
        }
        if !started, streams.count == expected.count {
            started = true
            // After this reply has gone: the session may write at once.
            eventLoop.execute { self.session.start() }
        }
        return true
    }

    func data(_ stream: UInt32, _ bytes: [UInt8]) {
        if stream == streams["stdin"] { session.stdin(bytes) } else if stream == streams["resize"] { session.resize(bytes) }
    }

    func ended(_ stream: UInt32, reset: Bool) {
        if stream == streams["stdin"] { session.stdinClosed() }
    }

    func sessionClosed() { session.clientGone() }

    func write(_ stream: OutputStream, _ bytes: [UInt8]) {
        guard let id = streams[Self.name(stream)] else { return }
        spdy.write(id, bytes)
    }

    func finish() {
        for name in ["stdout", "stderr", "error"] { if let id = streams[name] { spdy.write(id, [], fin: true) } }
        for name in ["stdin", "resize"] { if let id = streams[name] { spdy.reset(id) } }
        eventLoop.scheduleTask(in: Self.closeGrace) { [weak self] in self?.spdy.goAway() }
    }

    private static func name(_ stream: OutputStream) -> String {
        switch stream {
        case .stdout: "stdout"
        case .stderr: "stderr"
        case .error: "error"
        }
    }
}
