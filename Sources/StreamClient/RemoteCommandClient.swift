#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StreamProtocols

/// What arrives on a remote command's connection.
enum RemoteEvent {
    case stdout([UInt8]), stderr([UInt8]), error([UInt8])
    /// The server has finished: every output stream ended, or the connection did.
    case finished
}

/// One protocol's way of carrying a remote command (exec, attach) for the client.
protocol RemoteCommandWire: AnyObject {
    func start(stdin: Bool, stderr: Bool, tty: Bool) throws
    func stdin(_ bytes: [UInt8]) throws
    func endStdin() throws
    func resize(width: UInt16, height: UInt16) throws
    func received(_ bytes: [UInt8]) throws -> [RemoteEvent]
}

/// Runs exec or attach from skiffctl: the local stdin (if asked) goes to the container, output to
/// the local stdout and stderr, the terminal's size follows the local window (SIGWINCH); the exit
/// code is read from the error stream (v4/v5 Status). Returns the code.
public enum RemoteCommandClient {
    public struct Options: Sendable {
        public var stdin: Bool
        public var stderr: Bool
        public var tty: Bool
        public init(stdin: Bool, stderr: Bool, tty: Bool) { (self.stdin, self.stderr, self.tty) = (stdin, stderr, tty) }
    }

    public static let webSocketProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    public static let spdyProtocols = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]

    public static func run(_ connection: StreamConnection, _ transport: StreamConnection.Transport, _ options: Options) throws -> Int32 {
        let wire: RemoteCommandWire = transport == .webSocket
            ? WebSocketCommandWire(connection, closeSignal: connection.negotiated == "v5.channel.k8s.io")
            : SPDYCommandWire(connection)
        var errorBytes: [UInt8] = []
        var finished = false
        func deliver(_ events: [RemoteEvent]) {
            for event in events {
                switch event {
                case .stdout(let bytes): writeAll(STDOUT_FILENO, bytes)
                case .stderr(let bytes): writeAll(STDERR_FILENO, bytes)
                case .error(let bytes): errorBytes += bytes
                case .finished: finished = true
                }
            }
        }
        try wire.start(stdin: options.stdin, stderr: options.stderr && !options.tty, tty: options.tty)
        deliver(try wire.received(connection.leftover))
        let terminal = options.tty ? LocalTerminal() : nil
        defer { terminal?.restore() }
        if let size = terminal?.size { try wire.resize(width: size.width, height: size.height) }
        var stdinOpen = options.stdin
        var buffer = [UInt8](repeating: 0, count: 32768)
        while !finished {
            var fds = [pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? STDIN_FILENO : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: terminal?.resizes ?? -1, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 3, -1) >= 0 || errno == EINTR else { break }
            if fds[0].revents != 0 {
                guard let bytes = try connection.receive() else { deliver([.finished]); break }
                deliver(try wire.received(bytes))
            }
            if fds[1].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if n > 0 { try wire.stdin(Array(buffer[0..<n])) } else if n == 0 || errno != EINTR {
                    stdinOpen = false
                    try wire.endStdin()
                }
            }
            if fds[2].revents != 0, let size = terminal?.drainResizes() { try wire.resize(width: size.width, height: size.height) }
        }
        return try exitCode(errorBytes)
    }

    /// The error stream: empty or Success is 0; NonZeroExitCode carries the code; anything else
    /// is the server's message.
    static func exitCode(_ bytes: [UInt8]) throws -> Int32 {
        guard !bytes.isEmpty else { return 0 }
        guard let status = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw StreamClientError(String(decoding: bytes, as: UTF8.self))
        }
        if status["status"] as? String == "Success" { return 0 }
        if status["reason"] as? String == "NonZeroExitCode",
           let causes = (status["details"] as? [String: Any])?["causes"] as? [[String: Any]],
           let code = causes.first(where: { $0["reason"] as? String == "ExitCode" })?["message"] as? String, let value = Int32(code) {
            return value
        }
        throw StreamClientError(status["message"] as? String ?? String(decoding: bytes, as: UTF8.self))
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// `v5.channel.k8s.io` (or v4) over WebSocket: a channel byte before each message.
final class WebSocketCommandWire: RemoteCommandWire {
    private let connection: StreamConnection
    private let codec = WebSocketCodec(role: .client)
    private let closeSignal: Bool

    init(_ connection: StreamConnection, closeSignal: Bool) { (self.connection, self.closeSignal) = (connection, closeSignal) }

    private func send(_ opcode: WebSocketCodec.Opcode, _ payload: [UInt8]) throws {
        var random = SystemRandomNumberGenerator()
        try connection.send(WebSocketCodec.encode(opcode, payload, mask: (0..<4).map { _ in UInt8.random(in: 0...255, using: &random) }))
    }

    func start(stdin: Bool, stderr: Bool, tty: Bool) throws {}
    func stdin(_ bytes: [UInt8]) throws { try send(.binary, [0] + bytes) }
    func endStdin() throws { if closeSignal { try send(.binary, [255, 0]) } }
    func resize(width: UInt16, height: UInt16) throws { try send(.binary, [4] + Array("{\"Width\":\(width),\"Height\":\(height)}".utf8)) }

    func received(_ bytes: [UInt8]) throws -> [RemoteEvent] {
        codec.feed(bytes)
        var events: [RemoteEvent] = []
        while let message = try codec.next() {
            switch message {
            case .binary(let data) where !data.isEmpty:
                let payload = Array(data.dropFirst())
                switch data[0] {
                case 1: events.append(.stdout(payload))
                case 2: events.append(.stderr(payload))
                case 3: events.append(.error(payload))
                default: break
                }
            case .ping(let payload): try send(.pong, payload)
            case .close:
                try? send(.close, WebSocketCodec.closePayload(1000))
                events.append(.finished)
            default: break
            }
        }
        return events
    }
}

/// SPDY/3.1: one client stream per channel, each awaited before the next, as client-go opens them.
final class SPDYCommandWire: RemoteCommandWire {
    private let connection: StreamConnection
    private let framer = SPDYFramer()
    private var ids: [String: UInt32] = [:]
    private var open: Set<UInt32> = []

    init(_ connection: StreamConnection) { self.connection = connection }

    func start(stdin: Bool, stderr: Bool, tty: Bool) throws {
        framer.feed(connection.leftover)
        connection.leftover = []
        let names = ["error"] + (stdin ? ["stdin"] : []) + ["stdout"] + (stderr ? ["stderr"] : []) + (tty ? ["resize"] : [])
        for (index, name) in names.enumerated() {
            let id = UInt32(2 * index + 1)
            ids[name] = id
            try connection.send(framer.encode(.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": name])))
            while true {
                if let frame = try framer.next() {
                    if case .synReply(id, _, _) = frame { break }
                    if case .rstStream(id, _) = frame { throw StreamClientError("the server refused the \(name) stream") }
                    continue
                }
                guard let bytes = try connection.receive() else { throw StreamClientError("the server closed the connection") }
                framer.feed(bytes)
            }
        }
        open = Set(["error", "stdout", "stderr"].compactMap { ids[$0] })
    }

    func stdin(_ bytes: [UInt8]) throws {
        guard let id = ids["stdin"] else { return }
        try connection.send(framer.encode(.data(streamID: id, flags: 0, payload: bytes)))
    }

    func endStdin() throws {
        guard let id = ids["stdin"] else { return }
        try connection.send(framer.encode(.data(streamID: id, flags: SPDYFrame.flagFin, payload: [])))
    }

    func resize(width: UInt16, height: UInt16) throws {
        guard let id = ids["resize"] else { return }
        try connection.send(framer.encode(.data(streamID: id, flags: 0, payload: Array("{\"Width\":\(width),\"Height\":\(height)}\n".utf8))))
    }

    func received(_ bytes: [UInt8]) throws -> [RemoteEvent] {
        framer.feed(bytes)
        var events: [RemoteEvent] = []
        while let frame = try framer.next() {
            switch frame {
            case .data(let id, let flags, let payload):
                if !payload.isEmpty {
                    if id == ids["stdout"] { events.append(.stdout(payload)) } else if id == ids["stderr"] { events.append(.stderr(payload)) } else if id == ids["error"] { events.append(.error(payload)) }
                }
                if flags & SPDYFrame.flagFin != 0 { open.remove(id) }
            case .rstStream(let id, _): open.remove(id)
            case .ping(let id) where id % 2 == 0: try connection.send(framer.encode(.ping(id: id)))
            case .goAway: open.removeAll()
            default: break
            }
        }
        if open.isEmpty { events.append(.finished) }
        return events
    }
}
