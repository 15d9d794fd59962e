import CRIAPI
import CRIClient
import Foundation
import LinuxKit
import GRPCCore
import ImageFixtures
import Testing

/// Containers through CRI against a real skiffd: an image from the test registry, the skiff
/// runtime under a monitor, CRI log lines, exits, kill -9 of the daemon, and what remove leaves.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct ContainerTests {
    final class Node: @unchecked Sendable {
        var daemon: DaemonHarness!
        var registry: TestRegistry!
        var pod = ""
        var logs: String { daemon.dir + "/logs" }
        var image: String { registry.host + "/busybox:latest" }

        init(config: String = "") async throws {
            registry = try await TestRegistry.start()
            // Pods on the node's network: no CNI, and the daemon reaches the registry on loopback.
            daemon = try await DaemonHarness(config: config)
            let image = self.image
            _ = try await daemon.withClient { try await $0.image.pullImage(.with { $0.image.image = image }, options: $0.options) }
            pod = try await runPod("box")
        }

        /// A pod on the node's network (no CNI), logging under `logs`, run by `handler`.
        func runPod(_ name: String, pid: Runtime_V1_NamespaceMode = .container, handler: String = "") async throws -> String {
            let logs = self.logs
            return try await daemon.withClient {
                try await $0.runtime.runPodSandbox(.with {
                    $0.runtimeHandler = handler
                    $0.config = .with {
                        $0.metadata = .with { $0.name = name; $0.namespace = "default"; $0.uid = "uid-" + name }
                        $0.logDirectory = logs
                        $0.linux.securityContext.namespaceOptions = .with { $0.network = .node; $0.pid = pid }
                    }
                }, options: $0.options).podSandboxID
            }
        }

        func restart() async throws {
            await daemon.stop(signal: SIGKILL)
            daemon = try await DaemonHarness(restarting: daemon)
        }

        deinit {
            daemon = nil
            registry?.stop()
        }

        /// A busybox container running `script`, in the node's pod unless another is named.
        func create(_ name: String, _ script: String, pod: String? = nil, pid: Runtime_V1_NamespaceMode = .container,
                    target: String = "") async throws -> String {
            let (pod, image) = (pod ?? self.pod, self.image)
            return try await daemon.withClient {
                try await $0.runtime.createContainer(.with {
                    $0.podSandboxID = pod
                    $0.config = .with {
                        $0.metadata = .with { $0.name = name }
                        $0.image = .with { $0.image = image }
                        $0.command = ["/bin/sh", "-c", script]
                        $0.logPath = name + "/0.log"
                        $0.linux.securityContext.namespaceOptions = .with { $0.pid = pid; $0.targetID = target }
                    }
                }, options: $0.options).containerID
            }
        }

        func status(_ id: String) async throws -> Runtime_V1_ContainerStatus {
            try await daemon.withClient { try await $0.runtime.containerStatus(.with { $0.containerID = id }, options: $0.options).status }
        }

        func waitFor(_ id: String, _ state: Runtime_V1_ContainerState) async throws -> Runtime_V1_ContainerStatus {
            for _ in 0..<200 {
                let status = try await status(id)
                if status.state == state { return status }
                try await Task.sleep(for: .milliseconds(50))
            }
            return try await status(id)
        }

        func call(_ body: @escaping @Sendable (CRIClient) async throws -> Void) async -> RPCError.Code? {
            do { try await daemon.withClient { try await body($0) }; return nil } catch let error as RPCError { return error.code } catch { return .unknown }
        }
    }

    @Test func aContainerRunsLogsExitsAndLeavesNothingWhenRemoved() async throws {
        let node = try await Node()
        let id = try await node.create("app", "echo hello; echo oops >&2; exec sleep 30")
        #expect(try await node.status(id).state == .containerCreated)
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let running = try await node.status(id)
        #expect(running.state == .containerRunning && running.startedAt > 0 && running.imageRef.hasPrefix("sha256:"))
        #expect(running.logPath == node.logs + "/app/0.log" && running.user.linux.uid == 0)
        var log = ""
        for _ in 0..<100 where !log.contains("stderr F oops") {
            try await Task.sleep(for: .milliseconds(50))
            log = (try? String(contentsOfFile: running.logPath, encoding: .utf8)) ?? ""
        }
        #expect(log.contains(" stdout F hello\n") && log.contains(" stderr F oops\n"), "\(log)")
        // skiffctl logs reads the same file as crictl does: streams apart, --tail, timestamps.
        let ctl = ["--runtime-endpoint", "unix://" + node.daemon.socket, "logs"]
        let logs = try runCommand(Binaries.path("skiffctl"), ctl + [id], environment: ["CRI_CONFIG_FILE": "/nonexistent"])
        #expect(logs.stdout == "hello\n" && logs.stderr == "oops\n", "\(logs)")
        let last = try runCommand(Binaries.path("skiffctl"), ctl + ["--tail", "1", "--timestamps", id], environment: ["CRI_CONFIG_FILE": "/nonexistent"])
        #expect(last.stdout.isEmpty && last.stderr.hasSuffix("Z oops\n") && last.stderr.hasPrefix("20"), "\(last)")
        #expect(await node.call { _ = try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) } == .failedPrecondition)

        // kill -9 of skiffd: the container keeps running, and the new daemon knows it.
        try await node.restart()
        #expect(try await node.status(id).state == .containerRunning)
        let items = try await node.daemon.withClient { try await $0.runtime.listContainers(.with { $0.filter = .with { $0.podSandboxID = node.pod } }, options: $0.options).containers }
        #expect(items.map(\.id) == [id])

        // sh as pid 1 ignores SIGTERM: the stop ends with SIGKILL after the timeout.
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id; $0.timeout = 1 }, options: $0.options) }
        let stopped = try await node.status(id)
        #expect(stopped.state == .containerExited && stopped.exitCode == 137 && stopped.reason == "Error" && stopped.finishedAt >= stopped.startedAt)
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id }, options: $0.options) }

        for _ in 0..<2 {
            _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
        }
        #expect(await node.call { _ = try await $0.runtime.containerStatus(.with { $0.containerID = id }, options: $0.options) } == .notFound)
        let mounts = FileSystem.mountInfo()
        #expect(!mounts.contains(id), "the container's rootfs is still mounted")
        #expect(!FileManager.default.fileExists(atPath: node.daemon.root + "/containers/" + id))
        #expect(!FileManager.default.fileExists(atPath: node.daemon.state + "/containers/" + id))
    }

    @Test func exitsAreReportedEvenWhenTheDaemonWasAway() async throws {
        let node = try await Node()
        let done = try await node.create("done", "true")
        let failed = try await node.create("failed", "exit 3")
        let later = try await node.create("later", "sleep 1; exit 7")
        for id in [done, failed, later] {
            _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        }
        let completed = try await node.waitFor(done, .containerExited)
        #expect(completed.exitCode == 0 && completed.reason == "Completed")
        let error = try await node.waitFor(failed, .containerExited)
        #expect(error.exitCode == 3 && error.reason == "Error")
        // The daemon is gone while "later" ends; its monitor records the exit for the next one.
        await node.daemon.stop(signal: SIGKILL)
        try await Task.sleep(for: .milliseconds(1500))
        try await node.restart()
        let recovered = try await node.waitFor(later, .containerExited)
        #expect(recovered.exitCode == 7)
    }

    @Test func reopenContainerLogStartsANewFileAfterARename() async throws {
        let node = try await Node()
        let id = try await node.create("ticker", "while true; do echo tick; sleep 0.05; done")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let log = try await node.status(id).logPath
        try await Task.sleep(for: .milliseconds(200))
        #expect(rename(log, log + ".1") == 0)
        _ = try await node.daemon.withClient { try await $0.runtime.reopenContainerLog(.with { $0.containerID = id }, options: $0.options) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(" stdout F tick\n"))
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id }, options: $0.options) }
        #expect(await node.call { _ = try await $0.runtime.reopenContainerLog(.with { $0.containerID = id }, options: $0.options) } == .failedPrecondition)
    }

    @Test func updateContainerResourcesChangesTheCgroupOrSaysWhichControllerIsMissing() async throws {
        let node = try await Node()
        let id = try await node.create("limited", "exec sleep 60")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        // This host's cgroup v2 tree has hugetlb only: a unified hugetlb limit is a real change...
        _ = try await node.daemon.withClient {
            try await $0.runtime.updateContainerResources(.with { $0.containerID = id; $0.linux.unified = ["hugetlb.2MB.max": "4194304"] }, options: $0.options)
        }
        let mount = cgroup2Mount()
        #expect((try? String(contentsOfFile: "\(mount)/skiff/\(id)/hugetlb.2MB.max", encoding: .utf8)) == "4194304\n")
        // ...and a CPU weight names the controller this node lacks (where it has it, it is set).
        let cpu = await node.call { _ = try await $0.runtime.updateContainerResources(.with { $0.containerID = id; $0.linux.cpuShares = 512 }, options: $0.options) }
        let controllers = (try? String(contentsOfFile: "\(mount)/cgroup.controllers", encoding: .utf8)) ?? ""
        #expect(cpu == (controllers.contains("cpu") ? nil : .failedPrecondition))
        #expect(await node.call { _ = try await $0.runtime.updateContainerResources(.with { $0.containerID = id; $0.linux.memoryLimitInBytes = -5 }, options: $0.options) } == .invalidArgument)
        #expect(await node.call { _ = try await $0.runtime.updateContainerResources(.with { $0.containerID = "nosuch" }, options: $0.options) } == .notFound)
        _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
    }

    @Test func execSyncRunsInTheContainerWithItsCodeOutputAndDeadline() async throws {
        let node = try await Node()
        let id = try await node.create("probe", "echo ready > /ready; exec sleep 60")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        func exec(_ cmd: [String], timeout: Int64 = 10) async throws -> Runtime_V1_ExecSyncResponse {
            try await node.daemon.withClient { try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = cmd; $0.timeout = timeout }, options: $0.options) }
        }
        try await Task.sleep(for: .milliseconds(200))
        // The container's own files (its mount namespace) and its pid namespace (sleep is pid 1).
        let ok = try await exec(["/bin/sh", "-c", "cat /ready; cat /proc/1/cmdline | tr '\\0' ' '; echo err >&2"])
        #expect(String(decoding: ok.stdout, as: UTF8.self) == "ready\nsleep 60 ", "\(String(decoding: ok.stdout, as: UTF8.self)) \(String(decoding: ok.stderr, as: UTF8.self))")
        #expect(String(decoding: ok.stderr, as: UTF8.self) == "err\n" && ok.exitCode == 0)
        #expect(try await exec(["/bin/sh", "-c", "exit 3"]).exitCode == 3)
        let binary = try await exec(["/bin/sh", "-c", "printf '\\000\\377\\001'"])
        #expect(Array(binary.stdout) == [0, 255, 1])
        // At the deadline the process is killed, and the reply says so.
        let code = await node.call { _ = try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = ["/bin/sleep", "4321"]; $0.timeout = 1 }, options: $0.options) }
        #expect(code == .deadlineExceeded)
        #expect(try runCommand("/usr/bin/pgrep", ["-f", "sleep 4321"]).stdout.isEmpty, "the timed-out process is still running")
        // Nor a zombie of it (critest looks with pgrep inside the container): the runtime's exec
        // reaps what was killed; only the container's own sleep (pid 1) is left.
        let sleepers = try await exec(["/bin/sh", "-c", "grep -l '^[0-9]* (sleep)' /proc/[0-9]*/stat | grep -vc '^/proc/1/stat$'"])
        #expect(String(decoding: sleepers.stdout, as: UTF8.self) == "0\n", "\(String(decoding: sleepers.stdout, as: UTF8.self))")
        #expect(await node.call { _ = try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = [] }, options: $0.options) } == .invalidArgument)
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id }, options: $0.options) }
        #expect(await node.call { _ = try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = ["/bin/true"] }, options: $0.options) } == .failedPrecondition)
    }

    @Test func aPodWithASharedPidNamespaceHasAHolderAsPid1() async throws {
        let node = try await Node()
        let pod = try await node.runPod("shared", pid: .pod)
        let holderFile = node.daemon.state + "/ns/\(pod)/pid-holder"
        let holder = Int32((try String(contentsOfFile: holderFile, encoding: .utf8)).split(separator: " ")[0]) ?? 0
        #expect(holder > 0 && kill(holder, 0) == 0)
        let sleeper = try await node.create("sleeper", "exec sleep 60", pod: pod, pid: .pod)
        let looker = try await node.create("looker", "sleep 0.5; tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/[0-9]*/comm | grep -c '^sleep$'",
                                     pod: pod, pid: .pod)
        for id in [sleeper, looker] {
            _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        }
        let done = try await node.waitFor(looker, .containerExited)
        #expect(done.exitCode == 0)
        let log = (try? String(contentsOfFile: done.logPath, encoding: .utf8)) ?? ""
        let lines = log.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 3).last.map(String.init) ?? "" }
        #expect(lines.first?.hasSuffix("skiff-monitor --pause ") == true, "\(log)")
        #expect(lines.dropFirst().first == "1", "the other container's process is not visible: \(log)")
        _ = try await node.daemon.withClient { try await $0.runtime.stopPodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        let state = (try? String(contentsOfFile: "/proc/\(holder)/stat", encoding: .utf8))?.split(separator: " ")[2]
        #expect(state == nil || state == "Z", "the pid holder outlived its pod")
        _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
    }

    /// What the kubelet always sends (CPU shares) on a node without the cpu controller (this host's
    /// v2 tree has hugetlb only): refused by default, skipped with a warning when tolerated.
    @Test(arguments: [false, true])
    func limitsOfMissingControllersFailOrAreSkippedWhenTolerated(tolerated: Bool) async throws {
        let mount = cgroup2Mount()
        guard !((try? String(contentsOfFile: mount + "/cgroup.controllers", encoding: .utf8)) ?? "").contains("cpu") else { return }
        let node = try await Node(config: tolerated ? "[runtime]\ntolerate_missing_controllers = [\"cpu\", \"memory\"]\n" : "")
        let (pod, image) = (node.pod, node.image)
        let code = await node.call { cri in
            _ = try await cri.runtime.createContainer(.with {
                $0.podSandboxID = pod
                $0.config = .with {
                    $0.metadata = .with { $0.name = "limited" }
                    $0.image = .with { $0.image = image }
                    $0.command = ["/bin/true"]
                    $0.linux.resources = .with { $0.cpuShares = 2; $0.memoryLimitInBytes = 64 << 20 }
                    $0.linux.securityContext.namespaceOptions = .with { $0.pid = .container }
                }
            }, options: cri.options)
        }
        if tolerated {
            #expect(code == nil)
            #expect(node.daemon.log.contains("container limited: the cpu controller is not available"), "\(node.daemon.log)")
            #expect(node.daemon.log.contains("container limited: the memory controller is not available"))
        } else {
            #expect(code == .failedPrecondition)
        }
    }

    @Test func statsComeFromTheCgroupAndTheWritableLayer() async throws {
        let node = try await Node()
        let id = try await node.create("busy", "head -c 1048576 /dev/zero > /filler; while true; do :; done")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        try await Task.sleep(for: .milliseconds(500))
        let stats = try await node.daemon.withClient { try await $0.runtime.containerStats(.with { $0.containerID = id }, options: $0.options).stats }
        #expect(stats.attributes.id == id && stats.attributes.metadata.name == "busy")
        // crictl inspect's info: where it runs, without the status's own keys again.
        let verbose = try await node.daemon.withClient { try await $0.runtime.containerStatus(.with { $0.containerID = id; $0.verbose = true }, options: $0.options) }
        let info = try JSONSerialization.jsonObject(with: Data((verbose.info["info"] ?? "").utf8)) as? [String: Any]
        #expect((info?["pid"] as? Int ?? 0) > 0 && info?["sandboxID"] as? String == node.pod && info?["state"] == nil, "\(verbose.info)")
        #expect(stats.cpu.usageCoreNanoSeconds.value > 100_000_000, "the busy loop used no CPU: \(stats.cpu)")
        #expect(stats.writableLayer.usedBytes.value >= 1 << 20 && stats.writableLayer.inodesUsed.value >= 1)
        // Usage and working set come only where the node's tree has the memory controller;
        // without it the resident set is the processes' own (the shell: some hundreds of KiB).
        let mount = cgroup2Mount()
        let hasMemory = ((try? String(contentsOfFile: mount + "/cgroup.controllers", encoding: .utf8)) ?? "").contains("memory")
        #expect(stats.memory.hasUsageBytes == hasMemory && stats.memory.hasWorkingSetBytes == hasMemory)
        #expect(stats.memory.timestamp > 0 && stats.memory.rssBytes.value > 100 << 10 && stats.memory.pageFaults.value > 0, "\(stats.memory)")
        let pod = node.pod
        let listed = try await node.daemon.withClient { try await $0.runtime.listContainerStats(.with { $0.filter = .with { $0.podSandboxID = pod } }, options: $0.options).stats }
        #expect(listed.map(\.attributes.id) == [id])
        // The pod: its containers, their processes (the shell), CPU; no interfaces on the node's network.
        let podStats = try await node.daemon.withClient { try await $0.runtime.podSandboxStats(.with { $0.podSandboxID = pod }, options: $0.options).stats }
        #expect(podStats.attributes.id == pod && podStats.attributes.metadata.name == "box")
        #expect(podStats.linux.containers.map(\.attributes.id) == [id])
        #expect(podStats.linux.process.processCount.value >= 1 && podStats.linux.cpu.usageCoreNanoSeconds.value > 100_000_000)
        #expect(!podStats.linux.hasNetwork)
        let pods = try await node.daemon.withClient { try await $0.runtime.listPodSandboxStats(.with { $0.filter = .with { $0.id = pod } }, options: $0.options).stats }
        #expect(pods.map(\.attributes.id) == [pod])
        #expect(await node.call { _ = try await $0.runtime.podSandboxStats(.with { $0.podSandboxID = "ffff" }, options: $0.options) } == .notFound)
        _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
    }

    @Test func stoppingAndRemovingThePodTakesItsContainers() async throws {
        let node = try await Node()
        let id = try await node.create("sleeper", "exec sleep 60")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        let pod = node.pod
        _ = try await node.daemon.withClient { try await $0.runtime.stopPodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        let stopped = try await node.status(id)
        #expect(stopped.state == .containerExited && stopped.exitCode == 137)
        _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
        #expect(await node.call { _ = try await $0.runtime.containerStatus(.with { $0.containerID = id }, options: $0.options) } == .notFound)
        #expect(!FileSystem.mountInfo().contains(id))
    }

    @Test func badRequestsGetTheirCodes() async throws {
        let node = try await Node()
        let (pod, image) = (node.pod, node.image)
        func create(_ edit: @escaping @Sendable (inout Runtime_V1_CreateContainerRequest) -> Void) async -> RPCError.Code? {
            await node.call { cri in
                var request = Runtime_V1_CreateContainerRequest.with {
                    $0.podSandboxID = pod
                    $0.config = .with {
                        $0.metadata = .with { $0.name = "x" }
                        $0.image = .with { $0.image = image }
                        $0.command = ["/bin/true"]
                        $0.linux.securityContext.namespaceOptions = .with { $0.pid = .container }
                    }
                }
                edit(&request)
                _ = try await cri.runtime.createContainer(request, options: cri.options)
            }
        }
        #expect(await create { $0.podSandboxID = "nosuchpod" } == .notFound)
        #expect(await create { $0.config.image.image = "nosuch/image:1" } == .notFound)
        #expect(await create { $0.config.metadata.name = "" } == .invalidArgument)
        #expect(await create { $0.config.logPath = "../../etc/evil.log" } == .invalidArgument)
        #expect(await create { $0.config.workingDir = "relative" } == .invalidArgument)
        #expect(await create { $0.config.mounts = [.with { $0.containerPath = "/x"; $0.hostPath = "relative" }] } == .invalidArgument)
        #expect(await create { _ in } == nil)
        #expect(await create { _ in } == .alreadyExists)
        #expect(await node.call { _ = try await $0.runtime.stopContainer(.with { $0.containerID = "nosuch" }, options: $0.options) } == nil)
        #expect(await node.call { _ = try await $0.runtime.removeContainer(.with { $0.containerID = "nosuch" }, options: $0.options) } == nil)
        #expect(await node.call { _ = try await $0.runtime.startContainer(.with { $0.containerID = "nosuch" }, options: $0.options) } == .notFound)
        // Nothing of the refused creates is left.
        let left = try await node.daemon.withClient { try await $0.runtime.listContainers(.init(), options: $0.options).containers }
        #expect(left.map(\.metadata.name) == ["x"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: node.daemon.root + "/containers")) ?? []).count == 1)
    }
}

/// Where the cgroup v2 tree is mounted (the `unified` mount on a hybrid host).
func cgroup2Mount() -> String {
    FileSystem.mountInfo().split(separator: "\n")
        .first { $0.contains(" - cgroup2 ") }.map { String($0.split(separator: " ")[4]) } ?? "/sys/fs/cgroup"
}
