import CRIAPI
import Foundation
import Glibc
import LinuxKit
import Testing

/// The exact frames that once crashed skiffd, went unanswered or were answered with the wrong code,
/// sent raw on its socket. After each, the daemon must still be the same process and still serve.
@Suite(.serialized)
struct HostileHTTP2Tests {
    static let version = "/runtime.v1.RuntimeService/Version"

    /// Runs `body` with a fresh raw connection, off the cooperative pool (the client blocks).
    func raw<T: Sendable>(_ daemon: DaemonHarness, _ body: @escaping @Sendable (RawHTTP2Connection) throws -> T) async throws -> T {
        let socket = daemon.socket
        return try await OffPool.run { try body(RawHTTP2Connection(socket: socket)) }
    }

    func expectStillServing(_ daemon: DaemonHarness, pid: Int32) async throws {
        #expect(daemon.isRunning && daemon.processID == pid, "skiffd died: \(daemon.log)")
        let reply = try await daemon.withClient { cri in
            try await cri.runtime.version(Runtime_V1_VersionRequest(), options: cri.options)
        }
        #expect(reply.runtimeName == "skiff")
    }

    @Test func aNegativeGrpcTimeoutIsInvalidArgumentNotACrash() async throws {
        let daemon = try await DaemonHarness()
        let pid = daemon.processID
        let result = try await raw(daemon) { c in
            try c.send(RawHTTP2Connection.request(stream: 1, path: Self.version, extra: [("grpc-timeout", "-1S")], endStream: false)
                       + RawHTTP2Connection.message(stream: 1, []))
            return try c.waitForEnd(of: 1)
        }
        #expect(result.grpcStatus == 3, "\(result.headers)")
        #expect(result.grpcMessage?.contains("grpc-timeout") == true)
        try await expectStillServing(daemon, pid: pid)
    }

    @Test func everyMalformedTimeoutIsRefusedOnOneConnection() async throws {
        let daemon = try await DaemonHarness()
        let values = ["-1S", "", "1", "S", "123456789S", "1x", "1.5S", " 1S", "1S ", "+1S", "0x1S", "1SS", "99999999999999999999H"]
        let results = try await raw(daemon) { c in
            var out: [Int?] = []
            for (index, value) in values.enumerated() {
                let stream = UInt32(2 * index + 1)
                try c.send(RawHTTP2Connection.request(stream: stream, path: Self.version, extra: [("grpc-timeout", value)], endStream: false)
                           + RawHTTP2Connection.message(stream: stream, []))
                out.append(try c.waitForEnd(of: stream).grpcStatus)
            }
            // Valid ones still run: the largest 8-digit amount, and zero.
            try c.send(RawHTTP2Connection.request(stream: 101, path: Self.version, extra: [("grpc-timeout", "99999999H")], endStream: false)
                       + RawHTTP2Connection.message(stream: 101, []))
            out.append(try c.waitForEnd(of: 101).grpcStatus)
            return out
        }
        #expect(results.dropLast() == values.map { _ in 3 }, "\(zip(values, results).map { "\($0)=\($1.map(String.init) ?? "none")" })")
        #expect(results.last == 0)
        #expect(daemon.isRunning)
    }

    /// HEADERS with END_STREAM and no DATA frame: once never answered at all.
    @Test(arguments: [[], [("grpc-timeout", "2S")]])
    func aRequestWithoutAMessageIsAnsweredAtOnce(extra: [(String, String)]) async throws {
        let daemon = try await DaemonHarness()
        let started = Date()
        let (headersOnly, emptyData, truncated) = try await raw(daemon) { c in
            try c.send(RawHTTP2Connection.request(stream: 1, path: Self.version, extra: extra, endStream: true))
            let first = try c.waitForEnd(of: 1, timeout: 3)
            try c.send(RawHTTP2Connection.request(stream: 3, path: Self.version, extra: extra, endStream: false)
                       + RawHTTP2Connection.frame(.data, flags: 1, stream: 3, payload: []))
            let second = try c.waitForEnd(of: 3, timeout: 3)
            try c.send(RawHTTP2Connection.request(stream: 5, path: Self.version, extra: extra, endStream: false)
                       + RawHTTP2Connection.frame(.data, flags: 1, stream: 5, payload: [0, 0, 0, 0, 9, 1]))
            return (first, second, try c.waitForEnd(of: 5, timeout: 3))
        }
        #expect(headersOnly.grpcStatus == 3, "\(headersOnly.headers)")
        #expect(emptyData.grpcStatus == 3, "\(emptyData.headers)")
        #expect(truncated.grpcStatus == 3, "\(truncated.headers)")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(daemon.isRunning)
    }

    @Test func aMessageOverTheLimitIsResourceExhausted() async throws {
        let daemon = try await DaemonHarness(config: "[grpc]\nmax_message_size = 65536\n")
        let result = try await raw(daemon) { c in
            // Only the length prefix and a few bytes: the refusal must not wait for the rest.
            let prefix: [UInt8] = [0, 0, 1, 0, 1, 0x0a, 0x00]
            try c.send(RawHTTP2Connection.request(stream: 1, path: Self.version, endStream: false)
                       + RawHTTP2Connection.frame(.data, flags: 0, stream: 1, payload: prefix))
            return try c.waitForEnd(of: 1)
        }
        #expect(result.grpcStatus == 8, "\(result.headers)")
        #expect(result.grpcMessage?.contains("65537") == true, "\(result.grpcMessage ?? "")")
        #expect(daemon.isRunning)
    }

    /// 20 KB of metadata once closed the connection and failed every other call on it.
    @Test func oversizedMetadataFailsOnlyItsOwnCall() async throws {
        let daemon = try await DaemonHarness()
        let pid = daemon.processID
        let (big, after, goaway) = try await raw(daemon) { c in
            try c.send(RawHTTP2Connection.request(stream: 1, path: Self.version, extra: [("x-padding", String(repeating: "a", count: 20_000))], endStream: false)
                       + RawHTTP2Connection.message(stream: 1, []))
            let big = try c.waitForEnd(of: 1)
            try c.send(RawHTTP2Connection.request(stream: 3, path: Self.version, endStream: false) + RawHTTP2Connection.message(stream: 3, []))
            return (big, try c.waitForEnd(of: 3), c.goaway)
        }
        #expect(big.grpcStatus == 8, "\(big.headers)")
        #expect(goaway == nil)
        #expect(after.grpcStatus == 0, "the next call on the connection: \(after.headers)")
        try await expectStillServing(daemon, pid: pid)
    }

    /// Past the header block limit HTTP/2 itself gives up on the connection: the daemon does not.
    @Test func aHeaderBlockOverTheConnectionLimitClosesOnlyThatConnection() async throws {
        let daemon = try await DaemonHarness()
        let pid = daemon.processID
        let goaway = try await raw(daemon) { c in
            do {
                try c.send(RawHTTP2Connection.request(stream: 1, path: Self.version, extra: [("x-padding", String(repeating: "a", count: 1_100_000))], endStream: true))
            } catch {
                return true // closed while the block was still being sent
            }
            _ = try? c.waitForEnd(of: 1)
            return c.goaway != nil || c.eof
        }
        #expect(goaway)
        try await expectStillServing(daemon, pid: pid)
    }
}
