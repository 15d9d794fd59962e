#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StreamProtocols

/// A client's end of a stream URL (the one Exec, Attach or PortForward returned), upgraded to
/// WebSocket or SPDY/3.1. Blocking I/O: skiffctl has nothing else to do meanwhile.
public final class StreamConnection {
    public enum Transport: String, Sendable, CaseIterable { case webSocket = "websocket", spdy }

    public struct Refused: Error, CustomStringConvertible {
        public var status: Int
        public var body: String
        public var description: String { "the stream server refused the upgrade (HTTP \(status)): \(body.trimmingCharacters(in: .whitespacesAndNewlines))" }
    }

    public let fd: Int32
    /// The protocol the server chose (WebSocket subprotocol or X-Stream-Protocol-Version).
    public private(set) var negotiated = ""
    /// Bytes that came with the 101, before the protocol's first frame was asked for.
    public var leftover: [UInt8] = []

    /// Connects and upgrades, offering `protocols` in order of preference.
    public init(url: String, transport: Transport, protocols: [String]) throws {
        guard url.hasPrefix("http://") else { throw StreamClientError("only http:// stream URLs are supported, not \(url)") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash]), path = slash == rest.endIndex ? "/" : String(rest[slash...])
        fd = try Self.dial(authority)
        let request: String
        switch transport {
        case .webSocket:
            var nonce = SystemRandomNumberGenerator()
            let key = Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &nonce) }).base64EncodedString()
            request = "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Protocol: \(protocols.joined(separator: ", "))\r\n\r\n"
        case .spdy:
            request = "POST \(path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                + protocols.map { "X-Stream-Protocol-Version: \($0)\r\n" }.joined() + "Content-Length: 0\r\n\r\n"
        }
        // A failed upgrade throws from here on: deinit closes the socket.
        try send(Array(request.utf8))
        var bytes: [UInt8] = []
        while true {
                guard let chunk = try receive() else { throw StreamClientError("the stream server closed the connection during the upgrade") }
                bytes += chunk
                guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
                let lines = head.components(separatedBy: "\r\n")
                let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
                guard status == 101 else { throw Refused(status: status, body: String(decoding: bytes[end.upperBound...], as: UTF8.self)) }
                let wanted = transport == .webSocket ? "sec-websocket-protocol:" : "x-stream-protocol-version:"
                negotiated = lines.first { $0.lowercased().hasPrefix(wanted) }.map { String($0.dropFirst(wanted.count)).trimmingCharacters(in: .whitespaces) } ?? ""
                leftover = Array(bytes[end.upperBound...])
                return
        }
    }

    deinit { close(fd) }

    private static func dial(_ authority: String) throws -> Int32 {
        var host = authority, port = "80"
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            port = String(authority[authority.index(after: colon)...])
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &list) == 0, let first = list else { throw StreamClientError("cannot resolve \(authority)") }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd >= 0, Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            if fd >= 0 { close(fd) }
            entry = address.pointee.ai_next
        }
        throw StreamClientError("cannot connect to \(authority): \(String(cString: strerror(errno)))")
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw StreamClientError("the stream connection broke: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// What the server sent next; nil at the end of the connection.
    public func receive() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == ECONNRESET { return nil }
            guard n >= 0 else { throw StreamClientError("reading the stream: \(String(cString: strerror(errno)))") }
            return n == 0 ? nil : Array(buffer[0..<n])
        }
    }
}

public struct StreamClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
