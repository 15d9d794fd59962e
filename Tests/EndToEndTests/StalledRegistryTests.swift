import CRIAPI
import CRIClient
import Foundation
import Glibc
import GRPCCore
import LinuxKit
import Testing

/// A registry that accepts connections and never answers: the kernel completes the handshake
/// from the listen backlog, and nothing ever reads or writes.
final class SilentRegistry: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        port = UInt16(bigEndian: address.sin_port)
        guard bound, listen(fd, 64) == 0 else { throw FixtureFailure("cannot listen on 127.0.0.1") }
    }

    deinit { close(fd) }

    var image: String { "127.0.0.1:\(port)/stalled/image:1" }

    /// Connections some client holds open to this registry (its side: remote port is ours).
    var establishedClients: Int {
        // Read to the end: Foundation's String(contentsOfFile:) stopped at the first page of this
        // generated file, which a busy test run's TIME_WAIT entries fill.
        let table = String(decoding: (try? AtomicFile.read("/proc/net/tcp")) ?? [], as: UTF8.self)
        let remote = String(format: ":%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[2].hasSuffix(remote) && fields[3] == "01"
        }.count
    }

    /// Polls until `condition` holds, for at most `seconds`.
    func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite(.serialized)
struct StalledRegistryTests {
    func pull(_ daemon: DaemonHarness, _ image: String, deadline: Duration) async -> RPCError.Code? {
        do {
            _ = try await CRIClient.with(endpoint: daemon.endpoint, timeout: deadline) { cri in
                try await cri.image.pullImage(.with { $0.image.image = image }, options: cri.options)
            }
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    /// Once the pull outlived its caller: eight such pulls still held their connections 33 s later.
    /// One caller's deadline passes while another still waits (the download goes on); then the
    /// other goes away (its client cancels the call) and the download ends with it.
    @Test func aPullEndsWithItsLastCaller() async throws {
        let registry = try SilentRegistry()
        let daemon = try await DaemonHarness(config: "[images]\nread_timeout = 600\n")
        let long = Task { await pull(daemon, registry.image, deadline: .seconds(120)) }
        // Generous: other suites can keep this process's threads busy for a while.
        guard await registry.eventually(30, { registry.establishedClients > 0 }) else {
            long.cancel()
            Issue.record("the pull never reached the registry (port \(registry.port)); log: \(daemon.log)")
            return
        }
        #expect(await pull(daemon, registry.image, deadline: .milliseconds(1000)) == .deadlineExceeded)
        #expect(registry.establishedClients > 0, "the pull stopped while a caller still waited")
        long.cancel()
        _ = await long.value

        #expect(await registry.eventually(10) { registry.establishedClients == 0 }, "skiffd still holds \(registry.establishedClients) connections")
        #expect(daemon.isRunning)
    }

    @Test func aSilentRegistryFailsThePullAfterTheReadTimeout() async throws {
        let registry = try SilentRegistry()
        let daemon = try await DaemonHarness(config: "[images]\nread_timeout = 1\nconnect_timeout = 1\n")
        let started = Date()
        let code = await pull(daemon, registry.image, deadline: .seconds(30))
        #expect(code == .unavailable)
        #expect(Date().timeIntervalSince(started) < 10, "took \(Date().timeIntervalSince(started)) s")
        #expect(await registry.eventually(5) { registry.establishedClients == 0 })
    }
}
