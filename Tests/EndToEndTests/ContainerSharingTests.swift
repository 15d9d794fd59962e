import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import Testing

/// Containers that reach past their own namespaces: the pod's pid namespace or a peer's (TARGET,
/// kubectl debug), and the host's devices (a device plugin's).
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct ContainerSharingTests {
    /// A config that names no pid mode asks for POD (CRI's zero value), as crictl's examples do: in
    /// a pod without a shared pid namespace the container gets its own.
    @Test func podPidModeInAPodWithoutASharedNamespaceIsTheContainersOwn() async throws {
        let node = try await ContainerTests.Node()
        let id = try await node.create("plain", "tr '\\0' ' ' < /proc/1/cmdline", pid: .pod)
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let done = try await node.waitFor(id, .containerExited)
        let log = (try? String(contentsOfFile: done.logPath, encoding: .utf8)) ?? ""
        #expect(done.exitCode == 0 && log.contains(" stdout F tr "), "its own process is pid 1: \(log)")
    }

    /// kubectl debug's ephemeral container: TARGET joins the pid namespace of a running container
    /// of the same pod, and sees its processes; a target that is not running is refused.
    @Test func aTargetContainerSharesItsPidNamespace() async throws {
        let node = try await ContainerTests.Node()
        let main = try await node.create("main", "exec sleep 60")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = main }, options: $0.options) }
        let debug = try await node.create("debug", "tr '\\0' ' ' < /proc/1/cmdline", pid: .target, target: main)
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = debug }, options: $0.options) }
        let done = try await node.waitFor(debug, .containerExited)
        let log = (try? String(contentsOfFile: done.logPath, encoding: .utf8)) ?? ""
        #expect(done.exitCode == 0 && log.contains(" stdout F sleep 60 "), "\(log)")
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = main }, options: $0.options) }
        let refused = await node.call { cri in
            _ = try await cri.runtime.createContainer(.with {
                $0.podSandboxID = node.pod
                $0.config = .with {
                    $0.metadata = .with { $0.name = "late" }
                    $0.image = .with { $0.image = node.image }
                    $0.command = ["/bin/true"]
                    $0.linux.securityContext.namespaceOptions = .with { $0.pid = .target; $0.targetID = main }
                }
            }, options: cri.options)
        }
        #expect(refused == .failedPrecondition)
        do {
            _ = try await node.create("ghost", "true", pid: .target, target: "ffff")
            Issue.record("a target that does not exist was accepted")
        } catch let error as RPCError {
            #expect(error.code == .notFound)
        }
    }

    /// A device plugin's device: the host's node made in the container with its numbers, and allowed.
    @Test func aHostDeviceIsMadeInTheContainerAndAllowed() async throws {
        let node = try await ContainerTests.Node()
        func create(_ name: String, host: String, permissions: String) async throws -> String {
            let (pod, image) = (node.pod, node.image)
            return try await node.daemon.withClient {
                try await $0.runtime.createContainer(.with {
                    $0.podSandboxID = pod
                    $0.config = .with {
                        $0.metadata = .with { $0.name = name }
                        $0.image = .with { $0.image = image }
                        $0.command = ["/bin/sh", "-c", "ls -l /dev/xnull; echo data > /dev/xnull && echo wrote"]
                        $0.logPath = name + ".log"
                        $0.devices = [.with { $0.containerPath = "/dev/xnull"; $0.hostPath = host; $0.permissions = permissions }]
                        $0.linux.securityContext.namespaceOptions = .with { $0.pid = .container }
                    }
                }, options: $0.options).containerID
            }
        }
        let id = try await create("gpu", host: "/dev/null", permissions: "rw")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let done = try await node.waitFor(id, .containerExited)
        let log = (try? String(contentsOfFile: done.logPath, encoding: .utf8)) ?? ""
        #expect(done.exitCode == 0 && log.contains(" stdout F crw") && log.contains(" 1,") && log.contains(" stdout F wrote"), "\(log)")
        for (host, permissions) in [("/etc/hostname", "rw"), ("/dev/null", "rwx"), ("relative", "r")] {
            do {
                _ = try await create("bad", host: host, permissions: permissions)
                Issue.record("\(host) with \(permissions) was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument, "\(host) \(permissions): \(error)")
            }
        }
    }
}
