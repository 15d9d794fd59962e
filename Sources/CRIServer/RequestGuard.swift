import NIOCore
import NIOHPACK
import NIOHTTP2

/// The first handler of every request stream, ahead of grpc-swift-2's own: it answers what the
/// library would trap on, leave unanswered or answer with the wrong code, with a trailers-only
/// gRPC status, and the library never sees such a request.
///
/// - a malformed `grpc-timeout` (`-1S` traps in GRPCCore's Timeout; `abc` would silently mean no
///   deadline) is INVALID_ARGUMENT;
/// - HEADERS with END_STREAM and no message left the call waiting for a message forever: every CRI
///   RPC takes exactly one, so it is INVALID_ARGUMENT at once;
/// - metadata over `maxMetadataSize` is RESOURCE_EXHAUSTED for that stream only (the connection
///   accepts larger header blocks so that it does not have to fail every call on it);
/// - a message whose length prefix is over `maxMessageSize` is RESOURCE_EXHAUSTED (the library
///   resets the stream, which clients report as CANCELLED).
final class RequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    struct Refusal: Equatable {
        let code: Int
        let message: String
    }

    private enum State {
        case awaitingHeaders
        case forwarding(MessageFraming)
        case refused
    }

    private let maxMessageSize: Int
    private let maxMetadataSize: Int
    private var state = State.awaitingHeaders

    init(maxMessageSize: Int, maxMetadataSize: Int) {
        self.maxMessageSize = maxMessageSize
        self.maxMetadataSize = maxMetadataSize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        switch state {
        case .refused:
            return
        case .awaitingHeaders:
            guard case .headers(let headers) = payload else { return context.fireChannelRead(data) }
            if let refusal = Self.check(headers, maxMetadataSize: maxMetadataSize) {
                return refuse(refusal, context: context)
            }
            state = .forwarding(MessageFraming())
            context.fireChannelRead(data)
        case .forwarding(var framing):
            if case .data(let frame) = payload, case .byteBuffer(let buffer) = frame.data {
                if let size = framing.consume(buffer), size > maxMessageSize {
                    return refuse(Refusal(code: 8, message: "the request message of \(size) bytes is over the limit of \(maxMessageSize) bytes"), context: context)
                }
                // The library answers these INTERNAL ("Empty stream."): the client's mistake is INVALID_ARGUMENT.
                if frame.endStream && framing.messages == 0 {
                    return refuse(Refusal(code: 3, message: "the request ended without a message"), context: context)
                }
                if frame.endStream && framing.isInsideMessage {
                    return refuse(Refusal(code: 3, message: "the request ended inside a message"), context: context)
                }
            }
            state = .forwarding(framing)
            context.fireChannelRead(data)
        }
    }

    /// What is wrong with a request's headers, if anything.
    static func check(_ frame: HTTP2Frame.FramePayload.Headers, maxMetadataSize: Int) -> Refusal? {
        // RFC 7541's size of a header list: each entry's name and value, plus 32.
        let size = frame.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
        if size > maxMetadataSize {
            return Refusal(code: 8, message: "the request metadata of \(size) bytes is over the limit of \(maxMetadataSize) bytes")
        }
        let timeouts = frame.headers["grpc-timeout"]
        if timeouts.count > 1 { return Refusal(code: 3, message: "more than one grpc-timeout header") }
        if let timeout = timeouts.first, !isValidTimeout(timeout) {
            return Refusal(code: 3, message: "malformed grpc-timeout '\(timeout.prefix(16))': 1 to 8 digits and a unit (H, M, S, m, u, n)")
        }
        if frame.endStream { return Refusal(code: 3, message: "the request ended without a message") }
        return nil
    }

    /// gRPC's TimeoutValue: a positive integer of at most 8 ASCII digits, then TimeoutUnit.
    static func isValidTimeout(_ value: String) -> Bool {
        let utf8 = value.utf8
        guard (2...9).contains(utf8.count), let unit = utf8.last, "HMSmun".utf8.contains(unit) else { return false }
        return utf8.dropLast().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// A trailers-only response, then the stream is closed (a reset, if the client still sends).
    private func refuse(_ refusal: Refusal, context: ChannelHandlerContext) {
        state = .refused
        let headers: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc",
            "grpc-status": String(refusal.code), "grpc-message": Self.percentEncoded(refusal.message),
        ]
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
        context.close(promise: nil)
    }

    /// grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself.
    static func percentEncoded(_ message: String) -> String {
        var out = ""
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }
}

/// gRPC's length-prefixed messages across DATA frames: a flag byte, a 4-byte big-endian length,
/// then the message. Returns each message's declared length as soon as its prefix is complete.
struct MessageFraming {
    private var prefix: [UInt8] = []
    private var remaining = 0
    /// Messages whose prefix has been read.
    private(set) var messages = 0
    var isInsideMessage: Bool { !prefix.isEmpty || remaining > 0 }

    mutating func consume(_ buffer: ByteBuffer) -> Int? {
        var buffer = buffer
        var largest: Int?
        while buffer.readableBytes > 0 {
            if remaining > 0 {
                let skip = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skip)
                remaining -= skip
                continue
            }
            let take = min(5 - prefix.count, buffer.readableBytes)
            prefix += buffer.readBytes(length: take) ?? []
            if prefix.count == 5 {
                let length = prefix[1...4].reduce(0) { $0 << 8 | Int($1) }
                largest = max(largest ?? 0, length)
                remaining = length
                messages += 1
                prefix = []
            }
        }
        return largest
    }
}
