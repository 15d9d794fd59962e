import CRIAPI
import Foundation
import GRPCCore
import Testing

/// Exec and PortForward through skiffd's streaming server, with the project's own client speaking
/// both protocols as client-go does: the RPC's checks, the URL's single-use token, output and exit
/// codes on the right streams, stdin with its end, and a port reached inside the pod.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct StreamingTests {
    @Test func execOverWebSocketAndSPDYWithCodesStdinAndSingleUseTokens() async throws {
        let node = try await ContainerTests.Node()
        let id = try await node.create("shell", "exec sleep 600")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        func url(_ cmd: [String], stdin: Bool = false, tty: Bool = false, stderr: Bool = true) async throws -> String {
            try await node.daemon.withClient {
                try await $0.runtime.exec(.with {
                    $0.containerID = id; $0.cmd = cmd; $0.stdout = true; $0.stderr = stderr; $0.stdin = stdin; $0.tty = tty
                }, options: $0.options).url
            }
        }
        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }

        // WebSocket v5: output on its channels, Success, then stdin and its close signal reach `cat`.
        let hello = try StreamTestClient(url: try await url(["/bin/sh", "-c", "echo -n hello; echo -n oops >&2"])).webSocket()
        #expect(hello.status == 101 && hello.responseHead.contains("v5.channel.k8s.io"), "\(hello.responseHead)")
        #expect(text(hello.stdout) == "hello" && text(hello.stderr) == "oops" && text(hello.error) == #"{"metadata":{},"status":"Success"}"#)
        let binary = [UInt8](0...255) + [UInt8](repeating: 7, count: 200_000)
        let cat = try StreamTestClient(url: try await url(["/bin/cat"], stdin: true)).webSocket(stdin: binary)
        #expect(cat.stdout.count == binary.count && cat.stdout == binary, "\(cat.stdout.count) bytes back of \(binary.count)")

        // base64.channel.k8s.io: text messages, a digit for the channel; v1's status is plain text.
        let base64 = try StreamTestClient(url: try await url(["/bin/sh", "-c", "printf 'a\\377b'; exit 2"])).webSocket(protocols: ["base64.channel.k8s.io"])
        #expect(base64.status == 101 && base64.stdout == [0x61, 0xff, 0x62], "\(base64.responseHead) \(base64.stdout)")
        #expect(text(base64.error).hasSuffix("exit status 2"), "\(text(base64.error))")

        // SPDY v4 (chosen over v5, which the client offers first): a non-zero exit is NonZeroExitCode.
        let failing = try StreamTestClient(url: try await url(["/bin/sh", "-c", "echo out; exit 3"])).spdy()
        #expect(failing.status == 101 && failing.responseHead.contains("X-Stream-Protocol-Version: v4.channel.k8s.io"), "\(failing.responseHead)")
        #expect(text(failing.stdout) == "out\n")
        #expect(text(failing.error).contains(#""reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}"#), "\(text(failing.error))")
        let stdin = try StreamTestClient(url: try await url(["/bin/sh", "-c", "wc -c"], stdin: true)).spdy(streams: ["error", "stdin", "stdout", "stderr"], stdin: Array(repeating: 1, count: 70_000))
        #expect(text(stdin.stdout).trimmingCharacters(in: .whitespacesAndNewlines) == "70000", "\(text(stdin.stdout)) \(text(stdin.error))")

        // A terminal: the pty is the container's, so `tty` answers; stderr is refused with tty.
        let tty = try StreamTestClient(url: try await url(["/bin/sh", "-c", "tty; stty size"], tty: true, stderr: false)).webSocket()
        #expect(text(tty.stdout).hasPrefix("/dev/pts/"), "\(text(tty.stdout)) \(text(tty.error))")

        // A token is used once; an unknown one is 404 like the kubelet's own server.
        let once = try await url(["/bin/true"])
        #expect(try StreamTestClient(url: once).webSocket().status == 101)
        #expect(try StreamTestClient(url: once).webSocket().status == 404)
        #expect(try StreamTestClient(url: once.replacingOccurrences(of: "/exec/", with: "/attach/")).spdy().status == 404)
        // No protocol in common: 403, as client-go expects to learn it.
        #expect(try StreamTestClient(url: try await url(["/bin/true"])).webSocket(protocols: ["nonsense.k8s.io"]).status == 403)

        // The RPC's own checks.
        let checks: [(Runtime_V1_ExecRequest, RPCError.Code)] = [
            (.with { $0.containerID = id; $0.cmd = ["x"]; $0.tty = true; $0.stderr = true }, .invalidArgument),
            (.with { $0.containerID = id; $0.cmd = ["x"] }, .invalidArgument),
            (.with { $0.containerID = id; $0.stdout = true }, .invalidArgument),
            (.with { $0.containerID = "nosuch"; $0.cmd = ["x"]; $0.stdout = true }, .notFound),
        ]
        for (request, code) in checks {
            #expect(await node.call { _ = try await $0.runtime.exec(request, options: $0.options) } == code, "\(request)")
        }
        #expect(await node.call { _ = try await $0.runtime.attach(.with { $0.containerID = id }, options: $0.options) } == .invalidArgument)
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id }, options: $0.options) }
        #expect(await node.call { _ = try await $0.runtime.exec(.with { $0.containerID = id; $0.cmd = ["x"]; $0.stdout = true }, options: $0.options) } == .failedPrecondition)
        _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
    }

    /// Attach to a shell that reads its stdin, as critest's attach spec does: what the client sends
    /// reaches the shell through its monitor, its output comes back (and goes to the log too), and
    /// with stdin_once the client's end of stdin ends the shell, and with it the attach.
    @Test func attachRelaysStdinAndOutputAndStdinOnceEndsTheContainer() async throws {
        let node = try await ContainerTests.Node()
        let (pod, image) = (node.pod, node.image)
        func shell(_ name: String, tty: Bool) async throws -> String {
            let id = try await node.daemon.withClient {
                try await $0.runtime.createContainer(.with {
                    $0.podSandboxID = pod
                    $0.config = .with {
                        $0.metadata = .with { $0.name = name }
                        $0.image = .with { $0.image = image }
                        $0.command = ["/bin/sh"]
                        $0.stdin = true
                        $0.stdinOnce = true
                        $0.tty = tty
                        $0.logPath = name + "/0.log"
                    }
                }, options: $0.options).containerID
            }
            _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
            return id
        }
        func url(_ id: String, tty: Bool) async throws -> String {
            try await node.daemon.withClient {
                try await $0.runtime.attach(.with { $0.containerID = id; $0.stdin = true; $0.stdout = true; $0.stderr = !tty; $0.tty = tty }, options: $0.options).url
            }
        }
        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }

        let piped = try await shell("attached", tty: false)
        let spdy = try StreamTestClient(url: try await url(piped, tty: false))
            .spdy(streams: ["error", "stdin", "stdout", "stderr"], stdin: Array("echo -n hello; echo -n oops >&2\n".utf8))
        #expect(text(spdy.stdout) == "hello" && text(spdy.stderr) == "oops", "\(text(spdy.stdout)) \(text(spdy.stderr)) \(text(spdy.error))")
        #expect(text(spdy.error) == #"{"metadata":{},"status":"Success"}"#)
        let exited = try await node.waitFor(piped, .containerExited)
        #expect(exited.state == .containerExited && exited.exitCode == 0)
        let log = (try? String(contentsOfFile: node.logs + "/attached/0.log", encoding: .utf8)) ?? ""
        // Without a newline, each is a whole line once the container's streams end.
        #expect(log.contains(" stdout F hello") && log.contains(" stderr F oops"), "\(log)")

        // A terminal, over WebSocket v5: the shell's output (with the terminal's echo) and its exit code.
        let terminal = try await shell("terminal", tty: true)
        let ws = try StreamTestClient(url: try await url(terminal, tty: true)).webSocket(stdin: Array("echo marker-$((6*7)); exit 7\n".utf8))
        #expect(text(ws.stdout).contains("marker-42"), "\(text(ws.stdout))")
        #expect(try await node.waitFor(terminal, .containerExited).exitCode == 7)
        // Attaching to a container that no longer runs is refused.
        #expect(await node.call { _ = try await $0.runtime.attach(.with { $0.containerID = terminal; $0.stdout = true }, options: $0.options) } == .failedPrecondition)
    }
}
