import CRIAPI
import Foundation
import LinuxKit
import Testing

/// skiffctl's streaming commands against a live skiffd, with crictl's flags: exec with the
/// command's exit code, stdin and either transport; attach to a shell's stdin; port-forward to a
/// server in the pod, reached with curl.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct SkiffctlStreamingTests {
    @Test func execAttachAndPortForwardAsCrictlDoesThem() async throws {
        let node = try await ContainerTests.Node()
        let endpoint = "unix://" + node.daemon.socket
        let environment = ["CRI_CONFIG_FILE": node.daemon.dir + "/none.yaml"]
        func skiffctl(_ args: [String], stdin: String = "") throws -> ChildProcess.Result {
            try ChildProcess.run(Binaries.path("skiffctl"), ["-r", endpoint] + args, environment: environment, stdin: Array(stdin.utf8), timeout: 60)
        }
        let port = Int.random(in: 20000...40000)
        let id = try await node.create("served", "echo page-through-skiffctl > /index.html; exec /bin/busybox httpd -f -p 127.0.0.1:\(port) -h /")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }

        let failing = try skiffctl(["exec", id, "/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(failing.status == 3 && failing.stdout == "out\n" && failing.stderr == "err\n", "\(failing.status) \(failing.stdout) \(failing.stderr)")
        let echoed = try skiffctl(["exec", "-i", id, "/bin/cat"], stdin: "through stdin\n")
        #expect(echoed.status == 0 && echoed.stdout == "through stdin\n", "\(echoed.stdout) \(echoed.stderr)")
        let spdy = try skiffctl(["exec", "-e", "spdy", id, "/bin/echo", "over spdy"])
        #expect(spdy.status == 0 && spdy.stdout == "over spdy\n", "\(spdy.stderr)")
        #expect(try skiffctl(["exec", "-e", "carrier-pigeon", id, "true"]).status != 0)

        // Port-forward: skiffctl prints where it listens, curl goes through it twice.
        for transport in ["websocket", "spdy"] {
            let forward = Process()
            forward.executableURL = URL(fileURLWithPath: Binaries.path("skiffctl"))
            forward.arguments = ["-r", endpoint, "port-forward", "-e", transport, node.pod, "0:\(port)"]
            forward.environment = environment
            let output = Pipe()
            forward.standardOutput = output
            try forward.run()
            defer { forward.terminate(); forward.waitUntilExit() }
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            let local = line.split(separator: ":").dropFirst().first.map { String($0.prefix { $0.isNumber }) } ?? ""
            #expect(line.hasPrefix("Forwarding from 127.0.0.1:") && line.hasSuffix("-> \(port)\n"), "\(line)")
            var body = ""
            for _ in 0..<50 where !body.contains("page-through-skiffctl") {
                body = (try? runCommand("/usr/bin/curl", ["-s", "-m", "5", "http://127.0.0.1:\(local)/index.html"]).stdout) ?? ""
                if !body.contains("page-through-skiffctl") { try await Task.sleep(for: .milliseconds(100)) }
            }
            let again = (try? runCommand("/usr/bin/curl", ["-s", "-m", "5", "http://127.0.0.1:\(local)/index.html"]).stdout) ?? ""
            #expect(body == "page-through-skiffctl\n" && again == body, "\(transport): \(body) \(again)")
        }

        // Attach to a shell reading stdin (stdin_once): skiffctl's input ends it.
        let (pod, image) = (node.pod, node.image)
        let shell = try await node.daemon.withClient {
            try await $0.runtime.createContainer(.with {
                $0.podSandboxID = pod
                $0.config = .with {
                    $0.metadata = .with { $0.name = "shell" }
                    $0.image = .with { $0.image = image }
                    $0.command = ["/bin/sh"]
                    $0.stdin = true
                    $0.stdinOnce = true
                    $0.logPath = "shell/0.log"
                }
            }, options: $0.options).containerID
        }
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = shell }, options: $0.options) }
        let attached = try skiffctl(["attach", "-i", shell], stdin: "echo attached-$((40+2))\n")
        #expect(attached.status == 0 && attached.stdout == "attached-42\n", "\(attached.stdout) \(attached.stderr)")
        #expect(try await node.waitFor(shell, .containerExited).state == .containerExited)
    }
}
