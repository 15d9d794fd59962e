#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StreamProtocols

/// A small blocking client of skiffd's stream URLs, speaking each protocol as client-go does, for
/// the end-to-end tests: WebSocket with `v5.channel.k8s.io`, or SPDY/3.1 with `v4.channel.k8s.io`.
struct StreamTestClient {
    struct Result {
        var status = 0
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var error: [UInt8] = []
        var responseHead = ""
    }

    let url: String

    /// A plain connection to `base` (http://host:port), left open: it counts against the cap.
    static func openConnection(_ base: String) throws -> Int32 {
        try StreamTestClient(url: base + "/").connect().fd
    }

    private func connect() throws -> (fd: Int32, path: String) {
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/")!
        let hostPort = rest[..<slash], path = String(rest[slash...])
        let port = UInt16(hostPort.split(separator: ":").last!)!
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return (fd, path)
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// The next SPDY frame from `fd`, reading as needed; nil at the end of the connection.
    private func frame(from framer: SPDYFramer, _ fd: Int32) throws -> SPDYFrame? {
        while true {
            if let frame = try framer.next() { return frame }
            guard let chunk = receive(fd) else { return nil }
            framer.feed(chunk)
        }
    }

    private func receive(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }

    /// Sends the upgrade request; returns the status, the head, and bytes read past it.
    private func upgrade(_ fd: Int32, _ request: String) -> (Int, String, [UInt8]) {
        send(fd, Array(request.utf8))
        var bytes: [UInt8] = []
        while let chunk = receive(fd) {
            bytes += chunk
            if let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                return (status, head, Array(bytes[end.upperBound...]))
            }
        }
        return (0, String(decoding: bytes, as: UTF8.self), [])
    }

    /// Exec over WebSocket v5: `stdin` is sent, then the close signal for channel 0.
    func webSocket(stdin: [UInt8]? = nil, resize: String? = nil, protocols: [String] = ["v5.channel.k8s.io"]) throws -> Result {
        let (fd, path) = try connect()
        defer { close(fd) }
        var result = Result()
        let (status, head, rest) = upgrade(fd, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: \(protocols.joined(separator: ", "))\r\n\r\n")
        (result.status, result.responseHead) = (status, head)
        guard status == 101 else { return result }
        let mask: [UInt8] = [1, 2, 3, 4]
        if let resize { send(fd, WebSocketCodec.encode(.binary, [4] + Array(resize.utf8), mask: mask)) }
        if let stdin {
            send(fd, WebSocketCodec.encode(.binary, [0] + stdin, mask: mask))
            send(fd, WebSocketCodec.encode(.binary, [255, 0], mask: mask))
        }
        let codec = WebSocketCodec(role: .client)
        codec.feed(rest)
        while true {
            while let message = try codec.next() {
                switch message {
                case .binary(let bytes) where !bytes.isEmpty:
                    let payload = Array(bytes.dropFirst())
                    switch bytes[0] {
                    case 1: result.stdout += payload
                    case 2: result.stderr += payload
                    case 3: result.error += payload
                    default: break
                    }
                case .text(let text) where !text.isEmpty:
                    // base64.channel.k8s.io: the channel as a digit, the payload in base64.
                    let payload = Array(Data(base64Encoded: Data(text.dropFirst())) ?? Data())
                    switch text[0] {
                    case UInt8(ascii: "1"): result.stdout += payload
                    case UInt8(ascii: "2"): result.stderr += payload
                    case UInt8(ascii: "3"): result.error += payload
                    default: break
                    }
                case .close: return result
                default: break
                }
            }
            guard let chunk = receive(fd) else { return result }
            codec.feed(chunk)
        }
    }

    /// Exec over SPDY v4: the streams one by one, each awaited, as client-go opens them.
    func spdy(streams: [String] = ["error", "stdout", "stderr"], stdin: [UInt8]? = nil) throws -> Result {
        let (fd, path) = try connect()
        defer { close(fd) }
        var result = Result()
        let (status, head, rest) = upgrade(fd, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            + "X-Stream-Protocol-Version: v5.channel.k8s.io\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
        (result.status, result.responseHead) = (status, head)
        guard status == 101 else { return result }
        let framer = SPDYFramer()
        framer.feed(rest)
        func nextFrame() throws -> SPDYFrame? { try frame(from: framer, fd) }
        var ids: [UInt32: String] = [:]
        for (index, name) in streams.enumerated() {
            let id = UInt32(2 * index + 1)
            ids[id] = name
            send(fd, framer.encode(.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": name])))
            guard case .synReply(id, _, _)? = try nextFrame() else { return result }
        }
        if let stdin, let id = ids.first(where: { $0.value == "stdin" })?.key {
            send(fd, framer.encode(.data(streamID: id, flags: 0, payload: stdin)))
            send(fd, framer.encode(.data(streamID: id, flags: SPDYFrame.flagFin, payload: [])))
        }
        var open = Set(ids.filter { ["stdout", "stderr", "error"].contains($0.value) }.keys)
        while !open.isEmpty, let frame = try nextFrame() {
            switch frame {
            case .data(let id, let flags, let payload):
                switch ids[id] {
                case "stdout": result.stdout += payload
                case "stderr": result.stderr += payload
                case "error": result.error += payload
                default: break
                }
                if flags & SPDYFrame.flagFin != 0 { open.remove(id) }
            case .rstStream(let id, _): open.remove(id)
            case .goAway: return result
            default: break
            }
        }
        return result
    }

    /// Upgrades (WebSocket v5, or SPDY with its streams), reads the first bytes, and closes the
    /// socket without any goodbye: a client killed mid-stream.
    func abandon(spdy: Bool) throws {
        let (fd, path) = try connect()
        defer { close(fd) }
        if spdy {
            let (status, _, _) = upgrade(fd, "POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
            guard status == 101 else { return }
            let framer = SPDYFramer()
            for (index, name) in ["error", "stdout", "stderr"].enumerated() {
                send(fd, framer.encode(.synStream(streamID: UInt32(2 * index + 1), associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": name])))
            }
            _ = receive(fd)
        } else {
            let (status, _, rest) = upgrade(fd, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n")
            if status == 101, rest.isEmpty { _ = receive(fd) }
        }
        // An abortive close (RST), as a killed process's socket may end.
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
    }

    /// One forwarded connection over SPDY: the error stream, then the data stream, `request` sent
    /// and the data stream's bytes read to its end.
    func portForward(port: UInt16, request: [UInt8], requestID: Int = 0) throws -> (status: Int, data: [UInt8], error: [UInt8]) {
        let (fd, path) = try connect()
        defer { close(fd) }
        let (status, _, rest) = upgrade(fd, "POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n")
        guard status == 101 else { return (status, [], []) }
        let framer = SPDYFramer()
        framer.feed(rest)
        func nextFrame() throws -> SPDYFrame? { try frame(from: framer, fd) }
        for (id, type) in [(UInt32(1), "error"), (3, "data")] {
            send(fd, framer.encode(.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0,
                                              headers: SPDYHeaders([("streamtype", type), ("port", String(port)), ("requestid", String(requestID))]))))
            guard case .synReply? = try nextFrame() else { return (0, [], []) }
        }
        send(fd, framer.encode(.data(streamID: 3, flags: 0, payload: request)))
        var data: [UInt8] = [], error: [UInt8] = []
        var open: Set<UInt32> = [1, 3]
        while !open.isEmpty, let frame = try nextFrame() {
            switch frame {
            case .data(let id, let flags, let payload):
                if id == 3 { data += payload } else { error += payload }
                if flags & SPDYFrame.flagFin != 0 { open.remove(id) }
            case .rstStream(let id, _): open.remove(id)
            case .goAway: open.removeAll()
            default: break
            }
        }
        return (status, data, error)
    }

    /// Upgrades (SPDY when `spdy`, else WebSocket v5), then sends `garbage` and reads until the
    /// server closes or stays silent: a hostile client after its upgrade.
    func sendAfterUpgrade(spdy: Bool, _ garbage: [UInt8]) throws -> Int {
        let (fd, path) = try connect()
        defer { close(fd) }
        let request = spdy
            ? "POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
            : "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"
        let (status, _, _) = upgrade(fd, request)
        guard status == 101 else { return status }
        send(fd, garbage)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while receive(fd) != nil {}
        return status
    }
}
