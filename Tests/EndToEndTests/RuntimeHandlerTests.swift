import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import LinuxKit
import Testing

/// A pod whose runtime_handler names a runc-compatible binary from config.toml: its containers are
/// created, run, logged, stopped and removed by that binary (Debian's runc here), under the same
/// monitor as skiff's.
@Suite(.enabled(if: getuid() == 0 && access("/usr/sbin/runc", X_OK) == 0, "needs root and runc"), .serialized)
struct RuntimeHandlerTests {
    @Test func aPodOnTheRuncHandlerRunsItsContainersWithRunc() async throws {
        let node = try await ContainerTests.Node(config: "[runtime.handlers]\nrunc = \"/usr/sbin/runc\"\n")
        let pod = try await node.runPod("on-runc", handler: "runc")
        let id = try await node.create("hello", "echo from-runc; sleep 60", pod: pod)
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        #expect(try await node.waitFor(id, .containerRunning).state == .containerRunning)
        // runc keeps its state under the handler's own root, not skiff's.
        let runcRoot = node.daemon.state + "/runtime-runc"
        let listed = try runCommand("/usr/sbin/runc", ["--root", runcRoot, "list", "-q"])
        #expect(listed.stdout.split(separator: "\n").map(String.init) == [id], "\(listed.stdout) \(listed.stderr)")
        #expect(!FileSystem.exists(node.daemon.state + "/runtime/" + id))
        let probe = try await node.daemon.withClient { try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = ["/bin/sh", "-c", "exit 4"]; $0.timeout = 10 }, options: $0.options) }
        #expect(probe.exitCode == 4)
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id; $0.timeout = 1 }, options: $0.options) }
        let stopped = try await node.status(id)
        #expect(stopped.state == .containerExited && stopped.exitCode == 143 || stopped.exitCode == 137, "\(stopped)")
        #expect(((try? String(contentsOfFile: stopped.logPath, encoding: .utf8)) ?? "").contains(" stdout F from-runc"))
        _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        #expect(try runCommand("/usr/sbin/runc", ["--root", runcRoot, "list", "-q"]).stdout.isEmpty)
    }

    @Test func aHandlerThatIsNotConfiguredIsRefused() async throws {
        let node = try await ContainerTests.Node()
        let code = await node.call { cri in
            _ = try await cri.runtime.runPodSandbox(.with {
                $0.runtimeHandler = "runc"
                $0.config = .with { $0.metadata = .with { $0.name = "x"; $0.namespace = "default"; $0.uid = "u" } }
            }, options: cri.options)
        }
        #expect(code == .invalidArgument)
    }
}
