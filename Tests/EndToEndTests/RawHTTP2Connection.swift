import Foundation
import Glibc
import LinuxKit
import NIOCore
import NIOHPACK

/// An HTTP/2 client that writes exactly the bytes a test gives it, so the robustness tests can send
/// what no well-behaved gRPC library would: malformed reserved headers, END_STREAM in odd places,
/// oversized metadata. Requests are HPACK-encoded by hand (literals, no Huffman, no indexing);
/// replies are decoded with NIOHPACK. Blocking, with poll timeouts: use it off the cooperative pool.
final class RawHTTP2Connection {
    struct StreamResult {
        var headers: [(String, String)] = []
        var dataBytes = 0
        var ended = false
        var reset: UInt32?

        func header(_ name: String) -> String? { headers.last { $0.0 == name }?.1 }
        var grpcStatus: Int? { header("grpc-status").flatMap { Int($0) } }
        var grpcMessage: String? { header("grpc-message")?.removingPercentEncoding }
    }

    enum FrameType: UInt8 {
        case data = 0, headers = 1, rstStream = 3, settings = 4, ping = 6, goaway = 7, windowUpdate = 8, continuation = 9
    }

    struct Timeout: Error {}

    let fd: Int32
    private var input: [UInt8] = []
    private var decoder = HPACKDecoder(allocator: ByteBufferAllocator(), maxDynamicTableSize: 4096, maxHeaderListSize: 1 << 22)
    private var pendingBlock: (stream: UInt32, bytes: [UInt8], endStream: Bool)?
    private(set) var streams: [UInt32: StreamResult] = [:]
    private(set) var goaway: UInt32?
    private(set) var eof = false
    private var settingsSeen = 0

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Connects, sends the preface and empty SETTINGS, and acknowledges the server's SETTINGS
    /// (skiffd sends two: the transport's, then its larger header block limit).
    init(socket: String) throws {
        fd = try UnixSocket.connect(path: socket)
        try send(Self.preface + Self.frame(.settings, flags: 0, stream: 0, payload: []))
        let deadline = Date().addingTimeInterval(2)
        while settingsSeen < 2 && Date() < deadline { try? readFrame(until: deadline) }
    }

    deinit { close(fd) }

    // MARK: building frames

    static func frame(_ type: FrameType, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type.rawValue, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// RFC 7541 integer with an `bits`-bit prefix.
    static func integer(_ value: Int, bits: Int, flags: UInt8 = 0) -> [UInt8] {
        let limit = (1 << bits) - 1
        if value < limit { return [flags | UInt8(value)] }
        var out = [flags | UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            out.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        return out + [UInt8(rest)]
    }

    /// Literal header fields without indexing, new names, raw strings.
    static func hpack(_ headers: [(String, String)]) -> [UInt8] {
        headers.flatMap { name, value -> [UInt8] in
            let n = Array(name.utf8), v = Array(value.utf8)
            return [0] + integer(n.count, bits: 7) + n + integer(v.count, bits: 7) + v
        }
    }

    /// A header block as HEADERS and, past 16 KiB, CONTINUATION frames.
    static func headerFrames(stream: UInt32, block: [UInt8], endStream: Bool) -> [UInt8] {
        let chunks = stride(from: 0, to: max(block.count, 1), by: 16_384).map { Array(block[$0..<min($0 + 16_384, block.count)]) }
        var out: [UInt8] = []
        for (index, chunk) in chunks.enumerated() {
            let last = index == chunks.count - 1
            let flags: UInt8 = (last ? 0x4 : 0) | (index == 0 && endStream ? 0x1 : 0)
            out += frame(index == 0 ? .headers : .continuation, flags: flags, stream: stream, payload: chunk)
        }
        return out
    }

    /// The request headers a gRPC client sends for `path`, then `extra`.
    static func requestHeaders(path: String, extra: [(String, String)] = []) -> [(String, String)] {
        [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
         ("content-type", "application/grpc"), ("te", "trailers")] + extra
    }

    static func request(stream: UInt32, path: String, extra: [(String, String)] = [], endStream: Bool) -> [UInt8] {
        headerFrames(stream: stream, block: hpack(requestHeaders(path: path, extra: extra)), endStream: endStream)
    }

    /// One gRPC length-prefixed message in a DATA frame.
    static func message(stream: UInt32, _ bytes: [UInt8], endStream: Bool = true) -> [UInt8] {
        let n = UInt32(bytes.count)
        let prefixed: [UInt8] = [0, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + bytes
        return frame(.data, flags: endStream ? 1 : 0, stream: stream, payload: prefixed)
    }

    // MARK: I/O

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SystemError("send", errno: errno) }
            offset += n
        }
    }

    /// Reads frames until `stream` ends (END_STREAM, a reset, GOAWAY or EOF) or `timeout` passes.
    func waitForEnd(of stream: UInt32, timeout: Double = 5) throws -> StreamResult {
        let deadline = Date().addingTimeInterval(timeout)
        while !(streams[stream]?.ended ?? false) && goaway == nil && !eof {
            try readFrame(until: deadline)
        }
        return streams[stream] ?? StreamResult()
    }

    private func fill(until deadline: Date) throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
        guard poll(&pfd, 1, ms) > 0 else { throw Timeout() }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { eof = true; return }
        input += buffer[0..<n]
    }

    private func readFrame(until deadline: Date) throws {
        while input.count < 9 || input.count < 9 + Int(input[0]) << 16 + Int(input[1]) << 8 + Int(input[2]) {
            try fill(until: deadline)
            if eof { return }
        }
        let length = Int(input[0]) << 16 + Int(input[1]) << 8 + Int(input[2])
        let type = input[3], flags = input[4]
        let stream = UInt32(input[5] & 0x7f) << 24 | UInt32(input[6]) << 16 | UInt32(input[7]) << 8 | UInt32(input[8])
        let payload = Array(input[9..<9 + length])
        input.removeFirst(9 + length)
        try handle(type: FrameType(rawValue: type), flags: flags, stream: stream, payload: payload)
    }

    private func handle(type: FrameType?, flags: UInt8, stream: UInt32, payload: [UInt8]) throws {
        switch type {
        case .settings where flags & 1 == 0:
            settingsSeen += 1
            try send(Self.frame(.settings, flags: 1, stream: 0, payload: []))
        case .ping where flags & 1 == 0:
            try send(Self.frame(.ping, flags: 1, stream: 0, payload: payload))
        case .goaway:
            goaway = payload.count >= 8 ? UInt32(payload[4]) << 24 | UInt32(payload[5]) << 16 | UInt32(payload[6]) << 8 | UInt32(payload[7]) : 0
        case .rstStream:
            streams[stream, default: StreamResult()].reset = payload.count >= 4 ? UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3]) : 0
            streams[stream, default: StreamResult()].ended = true
        case .data:
            streams[stream, default: StreamResult()].dataBytes += payload.count
            if flags & 1 != 0 { streams[stream, default: StreamResult()].ended = true }
        case .headers:
            var block = payload
            if flags & 0x8 != 0, let pad = block.first { block = Array(block.dropFirst().dropLast(Int(pad))) }
            if flags & 0x20 != 0 { block = Array(block.dropFirst(5)) }
            pendingBlock = (stream, block, flags & 1 != 0)
            if flags & 0x4 != 0 { try finishBlock() }
        case .continuation:
            pendingBlock?.bytes += payload
            if flags & 0x4 != 0 { try finishBlock() }
        default:
            break
        }
    }

    private func finishBlock() throws {
        guard let (stream, bytes, endStream) = pendingBlock else { return }
        pendingBlock = nil
        var buffer = ByteBuffer(bytes: bytes)
        let headers = try decoder.decodeHeaders(from: &buffer)
        streams[stream, default: StreamResult()].headers += headers.map { ($0.name, $0.value) }
        if endStream { streams[stream, default: StreamResult()].ended = true }
    }
}
