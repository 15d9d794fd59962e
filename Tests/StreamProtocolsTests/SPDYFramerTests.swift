import Testing
@testable import StreamProtocols

private func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace && $0 != "|" })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Frames as Go's spdystream (kubectl, the kubelet's proxy, critest) writes and reads them.
struct SPDYFramerTests {
    @Test func readsAGoClientsStreamsWithOneSharedCompressionContext() throws {
        let framer = SPDYFramer()
        // SYN_STREAM 1 `streamtype: error`, then SYN_STREAM 3 `streamtype: stdout` continuing the same zlib stream.
        framer.feed(hex("80030001 0000002a 00000001 00000000 0000 78f9e3c6a7c2 6260606004a7b392a2d4c45c6851c29a5a54945f04 000000ffff"))
        framer.feed(hex("80030001 00000019 00000003 00000000 0000 c22ac5565c92925f5a02000000ffff"))
        #expect(try framer.next() == .synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": "error"]))
        #expect(try framer.next() == .synStream(streamID: 3, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": "stdout"]))
        #expect(try framer.next() == nil)
    }

    @Test func fixedFramesAreByteExact() {
        let framer = SPDYFramer()
        #expect(framer.encode(.ping(id: 1)) == hex("80030006 00000004 00000001"))
        #expect(framer.encode(.rstStream(streamID: 3, status: SPDYStatus.cancel)) == hex("80030003 00000008 00000003 00000005"))
        #expect(framer.encode(.goAway(lastGoodStreamID: 7, status: 0)) == hex("80030007 00000008 00000007 00000000"))
        #expect(framer.encode(.data(streamID: 1, flags: SPDYFrame.flagFin, payload: [])) == hex("00000001 01000000"))
        #expect(framer.encode(.windowUpdate(streamID: 1, delta: 65536)) == hex("80030009 00000008 00000001 00010000"))
        #expect(framer.encode(.settings(flags: 1, entries: [SPDYSetting(flags: 0, id: 7, value: 65536)])) == hex("80030004 0100000c 00000001 00000007 00010000"))
    }

    @Test func repliesInflateOnThePeerAcrossBlocks() throws {
        let server = SPDYFramer(), client = SPDYFramer()
        // Empty header blocks still carry a compressed count of zero; headers keep their values.
        for (id, headers) in [(1, SPDYHeaders()), (3, SPDYHeaders()), (5, SPDYHeaders([("streamtype", "data"), ("port", "80"), ("x", "a\u{0}b")]))] {
            client.feed(server.encode(.synReply(streamID: UInt32(id), flags: 0, headers: headers)))
            #expect(try client.next() == .synReply(streamID: UInt32(id), flags: 0, headers: headers))
        }
    }

    @Test func framesArriveInAnyPieces() throws {
        let server = SPDYFramer(), client = SPDYFramer()
        let bytes = client.encode(.synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": "stdin"]))
            + client.encode(.data(streamID: 1, flags: 0, payload: Array(0...255)))
            + client.encode(.data(streamID: 1, flags: 1, payload: []))
        var frames: [SPDYFrame] = []
        for byte in bytes {
            server.feed([byte])
            while let frame = try server.next() { frames.append(frame) }
        }
        #expect(frames == [.synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": "stdin"]),
                           .data(streamID: 1, flags: 0, payload: Array(0...255)), .data(streamID: 1, flags: 1, payload: [])])
    }

    @Test(arguments: [
        ("80020006 00000004 00000001", "version 2"),
        ("80030003 00000008 00000003 00000000", "RST_STREAM status 0"),
        ("80030006 00000005 00000001 00", "PING of 5 bytes"),
        ("80030007 00000004 00000001", "GOAWAY of 4 bytes"),
        ("00000000 00000001 ff", "data on stream 0"),
        ("80030001 00000004 00000001", "SYN_STREAM shorter than its fixed part"),
        ("80030001 0000000e 00000001 00000000 0000 01020304", "a header block that is not zlib"),
        ("80030004 00000008 00000002 00000000", "SETTINGS counting more entries than it holds"),
        ("80030006 00200000", "a control frame over the limit"),
    ])
    func malformedInputIsASessionError(frame: String, why: String) {
        let framer = SPDYFramer()
        framer.feed(hex(frame))
        #expect(throws: SPDYError.self, "\(why)") { _ = try framer.next() }
    }

    @Test func aServerRefusesDataFramesOverItsBound() {
        let framer = SPDYFramer(maxDataPayload: 1 << 20)
        framer.feed(hex("00000001 00200000"))   // a 2 MiB frame announced: refused before any of it is held
        #expect(throws: SPDYError.tooLarge("a data frame of 2097152 bytes")) { _ = try framer.next() }
    }

    @Test func unknownControlTypesAreSkipped() throws {
        let framer = SPDYFramer()
        framer.feed(hex("8003000a 00000002 abcd") + hex("80030006 00000004 00000003"))
        #expect(try framer.next() == .ping(id: 3))
    }

    @Test func aHeaderBlockMustBeExactAndLowercase() {
        #expect(throws: SPDYError.self) { _ = try SPDYHeaders.decode([0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0, 0, 0]) }
        #expect(throws: SPDYError.self) { _ = try SPDYHeaders.decode([0, 0, 0, 0, 9]) }
        #expect(throws: SPDYError.self) { _ = try SPDYHeaders.decode([0xff, 0xff, 0xff, 0xff]) }
        #expect(throws: SPDYError.self) { _ = try SPDYHeaders.decode([0, 0, 0, 1, 0, 0, 0, 9, 0x61]) }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let framer = SPDYFramer()
            // Valid headers with random bodies, and pure noise.
            let length = Int.random(in: 0...40, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) { bytes = [0x80, 0x03, 0x00, UInt8.random(in: 0...10)] + [0, 0, 0, UInt8(bytes.count)] + bytes }
            framer.feed(bytes)
            while (try? framer.next()) != nil {}
        }
    }
}
