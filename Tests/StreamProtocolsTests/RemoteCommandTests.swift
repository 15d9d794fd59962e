import Testing
@testable import StreamProtocols
@testable import StreamServer

struct RemoteCommandTests {
    @Test func theClientsFirstSupportedProtocolWins() {
        #expect(RemoteCommandProtocol.negotiate(["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"], RemoteCommandProtocol.spdy) == .v4)
        #expect(RemoteCommandProtocol.negotiate(["v2.channel.k8s.io, v4.channel.k8s.io"], RemoteCommandProtocol.spdy) == .v2)
        #expect(RemoteCommandProtocol.negotiate(["v5.channel.k8s.io"], RemoteCommandProtocol.webSocket) == .v5)
        #expect(RemoteCommandProtocol.negotiate(["x"], RemoteCommandProtocol.spdy) == nil)
    }

    @Test func theErrorStreamAsClientGoDecodesIt() {
        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }
        #expect(text(RemoteCommandOutcome.exited(0).errorStream(.v4)) == #"{"metadata":{},"status":"Success"}"#)
        #expect(RemoteCommandOutcome.exited(0).errorStream(.v3).isEmpty)
        let failed = text(RemoteCommandOutcome.exited(3).errorStream(.v4))
        #expect(failed.contains(#""reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}"#))
        #expect(text(RemoteCommandOutcome.exited(300).errorStream(.v5)).contains(#""message":"255"}"#))
        #expect(text(RemoteCommandOutcome.failed("no \"such\"\n").errorStream(.v4)).contains(#""message":"Internal error occurred: no \"such\"\n""#))
        #expect(text(RemoteCommandOutcome.exited(2).errorStream(.v1)).hasSuffix("exit status 2"))
    }

    @Test func resizesComeInAnyPieces() throws {
        var decoder = ResizeDecoder()
        #expect(try decoder.feed(Array(#"{"Width":80,"Hei"#.utf8)) == [])
        #expect(try decoder.feed(Array("ght\":24}\n{\"width\":100,\"height\":50}\n".utf8)) == [TerminalSize(width: 80, height: 24), TerminalSize(width: 100, height: 50)])
        #expect(throws: ResizeDecoder.Malformed.self) { _ = try decoder.feed(Array("[1]}".utf8)) }
    }

    @Test func tokensAreSingleUseAndExpire() throws {
        let clock = Clock()
        let cache = StreamRequestCache(now: { clock.now })
        let request = StreamRequest.exec(containerID: "c", cmd: ["sh"], tty: false, stdin: false, stdout: true, stderr: true)
        let token = try cache.insert(request)
        #expect(token.count == 8 && token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(cache.consume(token, kind: "attach") == nil)
        let second = try cache.insert(request)
        #expect(cache.consume(second, kind: "exec") == request)
        #expect(cache.consume(second, kind: "exec") == nil)
        let third = try cache.insert(request)
        clock.now += 60_001
        #expect(cache.consume(third, kind: "exec") == nil)
    }
}

private final class Clock: @unchecked Sendable {
    var now: UInt64 = 1_000
}
