#if canImport(Glibc)
import Glibc
#endif
import StreamProtocols

/// `skiffctl port-forward`: local ports on 127.0.0.1, each accepted connection one pair of SPDY
/// streams (error, data) on a single session to the pod's port, as client-go forwards. Over
/// WebSocket the same SPDY session travels in binary messages (`SPDY/3.1+portforward.k8s.io`).
/// Runs until the session ends or a forward reports an error.
public final class PortForwardClient {
    public struct Mapping: Sendable {
        public var local: UInt16
        public var remote: UInt16
        public init(local: UInt16, remote: UInt16) { (self.local, self.remote) = (local, remote) }
    }

    private struct Forward {
        var socket: Int32
        var data: UInt32
        var error: UInt32
        var port: UInt16
    }

    private let connection: StreamConnection
    private let tunnelled: Bool
    private let framer = SPDYFramer()
    private let codec = WebSocketCodec(role: .client)
    private var forwards: [Forward] = []
    private var nextStream: UInt32 = 1
    private var nextRequest = 0

    public init(_ connection: StreamConnection, tunnelled: Bool) {
        (self.connection, self.tunnelled) = (connection, tunnelled)
    }

    /// Listens on every mapping's local port and forwards until the connection ends.
    public func run(_ mappings: [Mapping], ready: ([Mapping]) -> Void) throws {
        var listeners: [(fd: Int32, remote: UInt16)] = []
        defer { listeners.forEach { close($0.fd) } }
        var bound: [Mapping] = []
        for mapping in mappings {
            let (fd, port) = try Self.listen(mapping.local)
            listeners.append((fd, mapping.remote))
            bound.append(Mapping(local: port, remote: mapping.remote))
        }
        ready(bound)
        try receive(connection.leftover)
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)]
            fds += listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            fds += forwards.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 {
                guard let bytes = try connection.receive() else { return }
                if try !receive(bytes) { return }
            }
            // The connections polled this round; those accepted below wait for the next.
            let polled = forwards.count
            for (index, listener) in listeners.enumerated() where fds[1 + index].revents != 0 {
                let socket = accept(listener.fd, nil, nil)
                if socket >= 0 { try open(socket, port: listener.remote) }
            }
            for (index, forward) in forwards.prefix(polled).enumerated().reversed() where fds[1 + listeners.count + index].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(forward.socket, $0.baseAddress, $0.count) }
                if n > 0 {
                    try send(.data(streamID: forward.data, flags: 0, payload: Array(buffer[0..<n])))
                } else {
                    // The local side ended: the pod's side gets the end too.
                    try send(.data(streamID: forward.data, flags: SPDYFrame.flagFin, payload: []))
                    close(forward.socket)
                    forwards.remove(at: index)
                }
            }
        }
    }

    private func open(_ socket: Int32, port: UInt16) throws {
        let request = String(nextRequest)
        nextRequest += 1
        let error = nextStream, data = nextStream + 2
        nextStream += 4
        for (id, type) in [(error, "error"), (data, "data")] {
            try send(.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0,
                                headers: SPDYHeaders([("streamtype", type), ("port", String(port)), ("requestid", request)])))
        }
        // Nothing is sent on the error stream: its write side ends at once.
        try send(.data(streamID: error, flags: SPDYFrame.flagFin, payload: []))
        forwards.append(Forward(socket: socket, data: data, error: error, port: port))
    }

    private func send(_ frame: SPDYFrame) throws {
        let bytes = framer.encode(frame)
        if tunnelled {
            var random = SystemRandomNumberGenerator()
            try connection.send(WebSocketCodec.encode(.binary, bytes, mask: (0..<4).map { _ in UInt8.random(in: 0...255, using: &random) }))
        } else {
            try connection.send(bytes)
        }
    }

    /// Returns false when the session is over.
    @discardableResult
    private func receive(_ bytes: [UInt8]) throws -> Bool {
        if tunnelled {
            codec.feed(bytes)
            while let message = try codec.next() {
                switch message {
                case .binary(let payload): framer.feed(payload)
                case .close: return false
                default: break
                }
            }
        } else {
            framer.feed(bytes)
        }
        while let frame = try framer.next() {
            switch frame {
            case .data(let id, let flags, let payload):
                if let index = forwards.firstIndex(where: { $0.data == id }) {
                    RemoteCommandClient.writeAll(forwards[index].socket, payload)
                    if flags & SPDYFrame.flagFin != 0 { shutdown(forwards[index].socket, Int32(SHUT_WR)) }
                } else if let forward = forwards.first(where: { $0.error == id }), !payload.isEmpty {
                    throw StreamClientError("an error occurred forwarding \(forward.port): \(String(decoding: payload, as: UTF8.self))")
                }
            case .rstStream(let id, _):
                if let index = forwards.firstIndex(where: { $0.data == id }) {
                    close(forwards[index].socket)
                    forwards.remove(at: index)
                }
            case .ping(let id) where id % 2 == 0: try send(.ping(id: id))
            case .goAway: return false
            default: break
            }
        }
        return true
    }

    private static func listen(_ port: UInt16) throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard fd >= 0, bound == 0, Glibc.listen(fd, 16) == 0 else {
            if fd >= 0 { close(fd) }
            throw StreamClientError("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, UInt16(bigEndian: actual.sin_port))
    }
}
