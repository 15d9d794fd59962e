import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import LinuxKit
import Testing

/// Pods in user namespaces (userns_options mode POD), as a kubelet with `hostUsers: false` asks:
/// the container's root is an unprivileged id on the node, the image's files are its own through
/// idmapped layers, volumes are idmapped, and what a bad request asks for is refused.
@Suite(.enabled(if: getuid() == 0 && KernelRelease.atLeast(5, 19), "needs root and idmapped overlay layers (Linux 5.19)"), .serialized)
struct UserNamespaceTests {
    /// A range of host ids no other test uses, as the kubelet hands each pod its own.
    static let base = UInt32(1 << 20) + UInt32.random(in: 0..<64) * 65536

    static func mapping(container: UInt32 = 0, host: UInt32 = base, length: UInt32 = 65536) -> Runtime_V1_IDMapping {
        .with { $0.containerID = container; $0.hostID = host; $0.length = length }
    }

    static func userns(_ uids: [Runtime_V1_IDMapping] = [mapping()], mode: Runtime_V1_NamespaceMode = .pod) -> Runtime_V1_UserNamespace {
        .with { $0.mode = mode; $0.uids = uids; $0.gids = uids }
    }

    /// A node whose pods get their own network namespace through CNI's loopback plugin alone:
    /// the daemon stays on the host's network, where the test registry is.
    static func node() async throws -> ContainerTests.Node {
        let node = try await ContainerTests.Node()
        try #"{"cniVersion": "1.0.0", "name": "lo", "plugins": [{"type": "loopback"}]}"#
            .write(toFile: node.daemon.cniDir + "/10-lo.conflist", atomically: true, encoding: .utf8)
        return node
    }

    static func podConfig(_ name: String, userns: Runtime_V1_UserNamespace, network: Runtime_V1_NamespaceMode = .pod,
                          logs: String) -> Runtime_V1_PodSandboxConfig {
        .with {
            $0.metadata = .with { $0.name = name; $0.namespace = "default"; $0.uid = "uid-" + name }
            $0.logDirectory = logs
            $0.linux.securityContext.namespaceOptions = .with { $0.network = network; $0.pid = .container; $0.usernsOptions = userns }
        }
    }

    @Test func aPodsRootIsAnUnprivilegedIdOnTheNodeAndOwnsItsImageAndVolumes() async throws {
        let node = try await Self.node()
        let features = try await node.daemon.withClient { try await $0.runtime.status(.init(), options: $0.options).runtimeHandlers }
        #expect(features.first { $0.name == "skiff" }?.features.userNamespaces == true)

        let logs = node.logs
        let pod = try await node.daemon.withClient {
            try await $0.runtime.runPodSandbox(.with { $0.config = Self.podConfig("userns", userns: Self.userns(), logs: logs) }, options: $0.options).podSandboxID
        }
        // A volume as the kubelet gives one: a root-owned directory of the node, with the pod's mappings.
        let volume = node.daemon.dir + "/volume"
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        chmod(node.daemon.dir, 0o700)
        try "from the node\n".write(toFile: volume + "/note", atomically: true, encoding: .utf8)
        let script = """
            cat /proc/self/uid_map; echo "uid $(id -u) gid $(id -g)"; stat -c 'owner %n %u:%g' / /bin/busybox /vol/note
            echo copied >> /etc/passwd && echo new > /made && stat -c 'owner %n %u:%g' /etc/passwd /made
            echo written > /vol/written; exec sleep 60
            """
        let image = node.image
        let id = try await node.daemon.withClient {
            try await $0.runtime.createContainer(.with {
                $0.podSandboxID = pod
                $0.config = .with {
                    $0.metadata = .with { $0.name = "app" }
                    $0.image = .with { $0.image = image }
                    $0.command = ["/bin/sh", "-c", script]
                    $0.logPath = "app.log"
                    $0.mounts = [.with {
                        $0.containerPath = "/vol"; $0.hostPath = volume
                        $0.uidMappings = [Self.mapping()]; $0.gidMappings = [Self.mapping()]
                    }]
                    $0.linux.securityContext.namespaceOptions = .with { $0.pid = .container; $0.usernsOptions = Self.userns() }
                }
            }, options: $0.options).containerID
        }
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        var log = ""
        for _ in 0..<100 where !log.contains("/made") {
            try await Task.sleep(for: .milliseconds(50))
            log = (try? String(contentsOfFile: logs + "/app.log", encoding: .utf8)) ?? ""
        }
        #expect(log.contains(" stdout F " + String(format: "%10u %10u %10u", 0, Self.base, 65536) + "\n"), "uid_map: \(log)")
        for line in ["uid 0 gid 0", "owner / 0:0", "owner /bin/busybox 0:0", "owner /vol/note 0:0", "owner /etc/passwd 0:0", "owner /made 0:0"] {
            #expect(log.contains(" stdout F \(line)\n"), "\(line): \(log)")
        }
        // On the node: the process is the pod's id, not root; what it wrote is owned by that id
        // in its writable layer, and by the node's own ids in the idmapped volume.
        let status = try await node.status(id)
        #expect(status.state == .containerRunning && status.user.linux.uid == 0)
        let pid = try await Self.containerPid(node, id)
        #expect(pid > 0)
        let procStatus = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        #expect(procStatus.contains("Uid:\t\(Self.base)\t\(Self.base)"), "\(procStatus)")
        var st = stat()
        #expect(stat(node.daemon.root + "/containers/\(id)/upper/made", &st) == 0 && st.st_uid == Self.base, "upper")
        #expect(stat(volume + "/written", &st) == 0 && st.st_uid == 0, "volume")

        // ExecSync joins the same user namespace.
        let exec = try await node.daemon.withClient {
            try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map"]; $0.timeout = 10 }, options: $0.options)
        }
        let out = String(decoding: exec.stdout, as: UTF8.self)
        #expect(exec.exitCode == 0 && out.hasPrefix("0\n") && out.contains("\(Self.base)"), "\(out)")

        // kill -9 of skiffd: the pod's pinned user namespace and the container carry on.
        try await node.restart()
        #expect(try await node.status(id).state == .containerRunning)
        _ = try await node.daemon.withClient { try await $0.runtime.stopPodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let left = mounts.split(separator: "\n").filter { $0.contains(pod) || $0.contains(id) || $0.contains(volume) }
        #expect(left.isEmpty, "mounts left: \(left)")
        #expect(!FileManager.default.fileExists(atPath: node.daemon.state + "/ns/" + pod))
    }

    /// shareProcessNamespace: the pod's pid namespace belongs to its user namespace too, so its
    /// containers mount their /proc and see the holder as pid 1.
    @Test func aSharedPidNamespaceBelongsToThePodsUserNamespace() async throws {
        let node = try await Self.node()
        let logs = node.logs
        var config = Self.podConfig("shared", userns: Self.userns(), logs: logs)
        config.linux.securityContext.namespaceOptions.pid = .pod
        let pod = try await node.daemon.withClient { try await $0.runtime.runPodSandbox(.with { $0.config = config }, options: $0.options).podSandboxID }
        let id = try await node.create("ps", "cat /proc/self/uid_map; tr '\\0' ' ' < /proc/1/cmdline", pod: pod, pid: .pod)
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let done = try await node.waitFor(id, .containerExited)
        let log = (try? String(contentsOfFile: done.logPath, encoding: .utf8)) ?? ""
        #expect(done.exitCode == 0 && log.contains("\(Self.base)") && log.contains("--pause"), "\(log)")
        _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        #expect(!FileManager.default.fileExists(atPath: node.daemon.state + "/ns/" + pod))
    }

    @Test func badUserNamespaceRequestsAreRefused() async throws {
        let node = try await Self.node()
        let logs = node.logs
        let two = [Self.mapping(), Self.mapping(host: Self.base + 65536)]
        let cases: [(String, Runtime_V1_UserNamespace, Runtime_V1_NamespaceMode, RPCError.Code)] = [
            ("two mappings", Self.userns(two), .pod, .invalidArgument),
            ("container id 0 unmapped", Self.userns([Self.mapping(container: 1)]), .pod, .invalidArgument),
            ("the node's root", Self.userns([Self.mapping(host: 0)]), .pod, .invalidArgument),
            ("past the last id", Self.userns([Self.mapping(host: UInt32.max - 10)]), .pod, .invalidArgument),
            ("mode CONTAINER", Self.userns([], mode: .container), .pod, .invalidArgument),
            ("mode TARGET", Self.userns([], mode: .target), .pod, .invalidArgument),
            ("NODE with mappings", Self.userns(mode: .node), .pod, .invalidArgument),
            ("the node's network", Self.userns(), .node, .invalidArgument),
        ]
        for (name, userns, network, code) in cases {
            let got = await node.call {
                _ = try await $0.runtime.runPodSandbox(.with { $0.config = Self.podConfig("bad", userns: userns, network: network, logs: logs) }, options: $0.options)
            }
            #expect(got == code, "\(name): \(String(describing: got))")
        }
        let pods = try await node.daemon.withClient { try await $0.runtime.listPodSandbox(.init(), options: $0.options).items }
        #expect(pods.count == 1, "only the node's own pod: \(pods.map(\.metadata.name))")
        // A volume that asks for mappings in a pod without a user namespace.
        let image = node.image, pod = node.pod
        let refused = await node.call {
            _ = try await $0.runtime.createContainer(.with {
                $0.podSandboxID = pod
                $0.config = .with {
                    $0.metadata = .with { $0.name = "idmap" }
                    $0.image = .with { $0.image = image }
                    $0.mounts = [.with { $0.containerPath = "/vol"; $0.hostPath = "/tmp"; $0.uidMappings = [Self.mapping()] }]
                }
            }, options: $0.options)
        }
        #expect(refused == .invalidArgument)
    }

    static func containerPid(_ node: ContainerTests.Node, _ id: String) async throws -> Int32 {
        let status = try await node.daemon.withClient {
            try await $0.runtime.containerStatus(.with { $0.containerID = id; $0.verbose = true }, options: $0.options)
        }
        let info = try JSONSerialization.jsonObject(with: Data((status.info["info"] ?? "{}").utf8)) as? [String: Any]
        return (info?["pid"] as? Int).map(Int32.init) ?? 0
    }
}
