import CRIAPI
import CRIClient
import Foundation
import LinuxKit
import GRPCCore
import Testing

/// Pod sandboxes through CRI against a real skiffd with Debian's bridge and host-local plugins.
/// The daemon runs in a network namespace the test makes, so the bridge never touches the host.
@Suite(.enabled(if: getuid() == 0 && access("/usr/lib/cni/bridge", X_OK) == 0, "needs root and containernetworking-plugins"), .serialized)
struct PodSandboxTests {
    /// A namespace for the daemon (the "host" side of the pod network) and a bridge conflist.
    final class Node: @unchecked Sendable {
        let netns = "skiff-e2e-" + UUID().uuidString.prefix(6).lowercased()
        let subnet = Int.random(in: 1...250)
        var daemon: DaemonHarness!

        init(network: Bool = true) async throws {
            #expect(try runCommand("/usr/sbin/ip", ["netns", "add", netns]).status == 0)
            daemon = try await DaemonHarness(networkNamespace: "/run/netns/" + netns)
            if network {
                try """
                    {"cniVersion": "1.0.0", "name": "podnet", "plugins": [
                      {"type": "bridge", "bridge": "skiff0", "isGateway": true, "ipMasq": false,
                       "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.252.\(subnet).0/24"}]], "dataDir": "\(daemon.dir)/ipam"}},
                      {"type": "portmap", "capabilities": {"portMappings": true}, "snat": false}]}
                    """.write(toFile: daemon.cniDir + "/10-podnet.conflist", atomically: true, encoding: .utf8)
            }
        }

        func restart(signal: Int32) async throws {
            await daemon.stop(signal: signal)
            daemon = try await DaemonHarness(restarting: daemon, networkNamespace: "/run/netns/" + netns)
        }

        deinit {
            daemon = nil
            _ = try? runCommand("/usr/sbin/ip", ["netns", "delete", netns])
        }
    }

    static func config(name: String = "web", sysctls: [String: String] = ["net.ipv4.ip_unprivileged_port_start": "0"]) -> Runtime_V1_PodSandboxConfig {
        .with {
            $0.metadata = .with { $0.name = name; $0.namespace = "default"; $0.uid = "uid-" + name; $0.attempt = 0 }
            $0.hostname = name + "-0"
            $0.logDirectory = "/var/log/pods/default_\(name)"
            $0.dnsConfig = .with { $0.servers = ["10.96.0.10"]; $0.searches = ["default.svc.cluster.local"]; $0.options = ["ndots:5"] }
            $0.portMappings = [.with { $0.protocol = .tcp; $0.containerPort = 80 }]
            $0.labels = ["app": name]
            $0.linux = .with {
                $0.cgroupParent = "/kubepods/besteffort/pod-uid-" + name
                $0.sysctls = sysctls
                $0.securityContext = .with { $0.namespaceOptions = .with { $0.pid = .container } }
            }
        }
    }

    func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do { try await body(); return nil } catch let error as RPCError { return error.code } catch { return .unknown }
    }

    @Test func aPodGetsItsNamespacesAndAddressSurvivesARestartAndGoesWithoutATrace() async throws {
        let node = try await Node()
        let daemon = node.daemon!
        let id = try await daemon.withClient { try await $0.runtime.runPodSandbox(.with { $0.config = Self.config() }, options: $0.options).podSandboxID }
        #expect(id.count == 64)
        let status = try await node.daemon.withClient { try await $0.runtime.podSandboxStatus(.with { $0.podSandboxID = id; $0.verbose = true }, options: $0.options) }
        #expect(status.status.state == .sandboxReady)
        #expect(status.status.metadata.name == "web" && status.status.labels == ["app": "web"])
        let ip = status.status.network.ip
        #expect(ip.hasPrefix("10.252.\(node.subnet)."), "\(status.status.network)")
        #expect(status.info["info"]?.contains("\"hostname\":\"web-0\"") == true)

        // What a container joining the pod will see.
        let ns = daemon.state + "/ns/" + id
        let inside = try runCommand("/usr/bin/nsenter", ["--net=\(ns)/net", "--uts=\(ns)/uts", "--ipc=\(ns)/ipc", "/bin/sh", "-c",
                                                          "hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ip -o -4 addr show dev eth0"])
        let lines = inside.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(2)) == ["web-0", "0"], "\(inside.stdout)\(inside.stderr)")
        #expect(lines.last?.contains(" \(ip)/24 ") == true)
        let resolv = try String(contentsOfFile: daemon.state + "/pods/\(id)/resolv.conf", encoding: .utf8)
        #expect(resolv == "nameserver 10.96.0.10\nsearch default.svc.cluster.local\noptions ndots:5\n")

        // A retried RunPodSandbox (its first call outlived the caller) finds the same pod.
        let again = try await daemon.withClient { try await $0.runtime.runPodSandbox(.with { $0.config = Self.config() }, options: $0.options).podSandboxID }
        #expect(again == id)
        let list = { (filter: Runtime_V1_PodSandboxFilter) in
            try await node.daemon.withClient { try await $0.runtime.listPodSandbox(.with { $0.filter = filter }, options: $0.options).items.map(\.id) }
        }
        #expect(try await list(.with { $0.labelSelector = ["app": "web"] }) == [id])
        #expect(try await list(.with { $0.labelSelector = ["app": "db"] }) == [])
        #expect(try await list(.with { $0.id = String(id.prefix(12)) }) == [id])
        #expect(try await list(.with { $0.state = .with { $0.state = .sandboxNotready } }) == [])

        // kill -9 and a new daemon: the pod is still there, ready, with its address.
        try await node.restart(signal: SIGKILL)
        let recovered = try await node.daemon.withClient { try await $0.runtime.podSandboxStatus(.with { $0.podSandboxID = id }, options: $0.options) }
        #expect(recovered.status.state == .sandboxReady && recovered.status.network.ip == ip)

        // Stop: no network, no namespaces, the address back in the pool; twice is fine.
        for _ in 0..<2 {
            _ = try await node.daemon.withClient { try await $0.runtime.stopPodSandbox(.with { $0.podSandboxID = id }, options: $0.options) }
        }
        let stopped = try await node.daemon.withClient { try await $0.runtime.podSandboxStatus(.with { $0.podSandboxID = id }, options: $0.options) }
        #expect(stopped.status.state == .sandboxNotready && stopped.status.network.ip.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: ns), "the pinned namespaces are still there")
        #expect(!FileManager.default.fileExists(atPath: "\(node.daemon.dir)/ipam/podnet/\(ip)"), "the address was not released")
        #expect(!FileSystem.mountInfo().contains(ns))

        // Remove: gone, and again is fine.
        for _ in 0..<2 {
            _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = id }, options: $0.options) }
        }
        #expect(await code { _ = try await node.daemon.withClient { try await $0.runtime.podSandboxStatus(.with { $0.podSandboxID = id }, options: $0.options) } } == .notFound)
        #expect(!FileManager.default.fileExists(atPath: node.daemon.root + "/pods/" + id))
        #expect(FileManager.default.fileExists(atPath: node.daemon.state + "/pods/" + id) == false)
    }

    @Test func badPodConfigsAreRefusedWithTheirCodeAndLeaveNothing() async throws {
        let node = try await Node()
        let daemon = node.daemon!
        let cases: [(Runtime_V1_RunPodSandboxRequest, RPCError.Code)] = [
            (.with { $0.config = Self.config(); $0.config.metadata.name = "" }, .invalidArgument),
            (.with { $0.config = Self.config(sysctls: ["kernel.pid_max": "4194304"]) }, .invalidArgument),
            (.with { $0.config = Self.config(sysctls: ["net.ipv4.ip_forward": "1"]); $0.config.linux.securityContext.namespaceOptions.network = .node }, .invalidArgument),
            (.with { $0.config = Self.config(); $0.config.hostname = "../../etc" }, .invalidArgument),
            (.with { $0.config = Self.config(); $0.config.dnsConfig.servers = ["nameserver 1.1.1.1\nsearch evil"] }, .invalidArgument),
            (.with { $0.config = Self.config(); $0.config.linux.securityContext.namespaceOptions.network = .UNRECOGNIZED(9) }, .invalidArgument),
            (.with { $0.config = Self.config(); $0.runtimeHandler = "kata" }, .invalidArgument),
            // A user namespace of the pod's own without its mappings: never run without one.
            (.with { $0.config = Self.config(); $0.config.linux.securityContext.namespaceOptions.usernsOptions.mode = .pod }, .invalidArgument),
        ]
        for (request, expected) in cases {
            #expect(await code { _ = try await daemon.withClient { try await $0.runtime.runPodSandbox(request, options: $0.options) } } == expected)
        }
        #expect(await code { _ = try await daemon.withClient { try await $0.runtime.podSandboxStatus(.with { $0.podSandboxID = "nope" }, options: $0.options) } } == .notFound)
        #expect(await code { _ = try await daemon.withClient { try await $0.runtime.stopPodSandbox(.with { $0.podSandboxID = "nope" }, options: $0.options) } } == nil)
        #expect(await code { _ = try await daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = "nope" }, options: $0.options) } } == nil)
        #expect(try await daemon.withClient { try await $0.runtime.listPodSandbox(.init(), options: $0.options).items }.isEmpty)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: daemon.state + "/ns")) ?? [] == [])

        // No network configured: the node is not ready for pods, and says so.
        try FileManager.default.removeItem(atPath: daemon.cniDir + "/10-podnet.conflist")
        #expect(await code { _ = try await daemon.withClient { try await $0.runtime.runPodSandbox(.with { $0.config = Self.config() }, options: $0.options) } } == .failedPrecondition)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: daemon.state + "/ns")) ?? [] == [])
        #expect(try await daemon.withClient { try await $0.runtime.listPodSandbox(.init(), options: $0.options).items }.isEmpty)
    }

    @Test func aHostNetworkPodNeedsNoNetworkConfig() async throws {
        let node = try await Node(network: false)
        let daemon = node.daemon!
        var config = Self.config(sysctls: [:])
        config.linux.securityContext.namespaceOptions.network = .node
        let id = try await daemon.withClient { try await $0.runtime.runPodSandbox(.with { $0.config = config }, options: $0.options).podSandboxID }
        let status = try await daemon.withClient { try await $0.runtime.podSandboxStatus(.with { $0.podSandboxID = id }, options: $0.options) }
        #expect(status.status.state == .sandboxReady && status.status.network.ip.isEmpty)
        #expect(status.status.linux.namespaces.options.network == .node)
        #expect(!FileManager.default.fileExists(atPath: daemon.state + "/ns/\(id)/net"))
        #expect(FileManager.default.fileExists(atPath: daemon.state + "/ns/\(id)/ipc"))
        _ = try await daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = id }, options: $0.options) }
        #expect(!FileManager.default.fileExists(atPath: daemon.state + "/ns/\(id)"))
    }
}
