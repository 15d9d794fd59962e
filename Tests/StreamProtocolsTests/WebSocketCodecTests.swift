import Testing
@testable import StreamProtocols

/// RFC 6455's own examples (section 5.7) and the limits the server holds to.
struct WebSocketCodecTests {
    let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]

    @Test func maskedTextFromAClient() throws {
        let codec = WebSocketCodec(role: .server)
        codec.feed([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
        #expect(try codec.next() == .text(Array("Hello".utf8)))
        #expect(WebSocketCodec.encode(.text, Array("Hello".utf8), mask: mask) == [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
    }

    @Test func unmaskedFramesFromAServer() throws {
        #expect(WebSocketCodec.encode(.text, Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        let client = WebSocketCodec(role: .client)
        client.feed([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        #expect(try client.next() == .ping(Array("Hello".utf8)))
        // 256 and 65536 bytes: the 16-bit and 64-bit lengths.
        #expect(Array(WebSocketCodec.encode(.binary, [UInt8](repeating: 1, count: 256)).prefix(4)) == [0x82, 0x7e, 0x01, 0x00])
        #expect(Array(WebSocketCodec.encode(.binary, [UInt8](repeating: 1, count: 65536)).prefix(10)) == [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0])
        client.feed(WebSocketCodec.encode(.binary, [UInt8](repeating: 7, count: 65536)))
        #expect(try client.next() == .binary([UInt8](repeating: 7, count: 65536)))
    }

    @Test func fragmentsJoinAroundAControlFrame() throws {
        let codec = WebSocketCodec(role: .server)
        codec.feed(WebSocketCodec.encode(.text, Array("Hel".utf8), fin: false, mask: mask))
        codec.feed(WebSocketCodec.encode(.ping, [1], mask: mask))
        codec.feed(WebSocketCodec.encode(.continuation, Array("lo".utf8), mask: mask))
        #expect(try codec.next() == .ping([1]))
        #expect(try codec.next() == .text(Array("Hello".utf8)))
        #expect(try codec.next() == nil)
    }

    @Test func theHandshakeAcceptsRFC6455sExampleKey() {
        // RFC 6455 section 1.3; SHA-1 of the key and GUID as the RFC gives it.
        let digest: [UInt8] = [0xb3, 0x7a, 0x4f, 0x2c, 0xc0, 0x62, 0x4f, 0x16, 0x90, 0xf6, 0x46, 0x06, 0xcf, 0x38, 0x59, 0x45, 0xb2, 0xbe, 0xc4, 0xea]
        var hashed: [UInt8] = []
        let accept = WebSocketCodec.acceptKey("dGhlIHNhbXBsZSBub25jZQ==") { hashed = $0; return digest }
        #expect(String(decoding: hashed, as: UTF8.self) == "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        #expect(accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(WebSocketCodec.base64(Array("hi".utf8)) == "aGk=" && WebSocketCodec.base64(Array("h".utf8)) == "aA==")
    }

    @Test func closeCarriesItsCode() throws {
        let codec = WebSocketCodec(role: .server)
        codec.feed(WebSocketCodec.encode(.close, WebSocketCodec.closePayload(1000, "bye"), mask: mask))
        #expect(try codec.next() == .close(code: 1000, reason: Array("bye".utf8)))
    }

    @Test(arguments: [
        ([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f] as [UInt8], "unmasked from a client"),
        ([0xc1, 0x80, 1, 2, 3, 4], "a reserved bit"),
        ([0x83, 0x80, 1, 2, 3, 4], "opcode 3"),
        ([0x09, 0x80, 1, 2, 3, 4], "a fragmented ping"),
        ([0x89, 0xfe, 0x00, 0x80], "a ping of 128 bytes"),
        ([0x80, 0x80, 1, 2, 3, 4], "a continuation without a message"),
        ([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0], "a 64-bit length with its top bit"),
        ([0x82, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 0], "a frame over the size limit"),
    ])
    func badFramesAreRefused(bytes: [UInt8], why: String) {
        let codec = WebSocketCodec(role: .server, maxMessage: 1 << 20)
        codec.feed(bytes)
        #expect(throws: WebSocketCodec.Failure.self, "\(why)") { _ = try codec.next() }
    }

    @Test func fragmentsMayNotOutgrowTheLimit() {
        let codec = WebSocketCodec(role: .server, maxMessage: 100)
        codec.feed(WebSocketCodec.encode(.binary, [UInt8](repeating: 0, count: 60), fin: false, mask: mask))
        codec.feed(WebSocketCodec.encode(.continuation, [UInt8](repeating: 0, count: 60), mask: mask))
        #expect(throws: WebSocketCodec.Failure.tooBig(120)) { _ = try codec.next() }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let codec = WebSocketCodec(role: .server, maxMessage: 4096)
            codec.feed((0..<Int.random(in: 0...32, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            while (try? codec.next()) != nil {}
        }
    }
}
