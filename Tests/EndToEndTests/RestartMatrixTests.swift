import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import LinuxKit
import Testing

/// kill -9 of skiffd after each step of a pod's and a container's life, then a restart: the
/// recovered daemon must see every object as it was, carry on with the remaining steps, and
/// leave nothing behind at the end (the census: mounts, processes, cgroups, state directories).
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct RestartMatrixTests {
    enum Step: Int, CaseIterable, Sendable {
        case runPod, create, start, exited, stop, remove, stopPod, removePod
    }

    @Test(arguments: Step.allCases)
    func killNineAfter(_ killed: Step) async throws {
        let node = try await ContainerTests.Node()
        var pod = "", id = ""
        for step in Step.allCases {
            switch step {
            case .runPod:
                pod = try await node.runPod("matrix", pid: .pod)
            case .create:
                id = try await node.create("worker", "echo one; sleep 1; echo two; exit 7", pod: pod, pid: .pod)
            case .start:
                _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
            case .exited:
                let done = try await node.waitFor(id, .containerExited)
                #expect(done.exitCode == 7 && done.reason == "Error", "after kill -9 at \(killed): \(done)")
                let log = (try? String(contentsOfFile: done.logPath, encoding: .utf8)) ?? ""
                #expect(log.contains(" stdout F one\n") && log.contains(" stdout F two\n"), "after kill -9 at \(killed): \(log)")
            case .stop:
                _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id }, options: $0.options) }
            case .remove:
                _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
            case .stopPod:
                _ = try await node.daemon.withClient { try await $0.runtime.stopPodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
            case .removePod:
                _ = try await node.daemon.withClient { try await $0.runtime.removePodSandbox(.with { $0.podSandboxID = pod }, options: $0.options) }
            }
            if step == .start {
                // The census sees a live pod's things (so that an empty one at the end means something).
                let live = census(node, ids: [pod, id])
                #expect(live.contains { $0.hasPrefix("a mount of \(id)") } && live.contains { $0.contains("skiff-monitor") }, "\(live)")
            }
            guard step == killed else { continue }
            try await node.restart()
            try await expectRecovered(node, after: step, pod: pod, container: id)
        }
        #expect(census(node, ids: [pod, id]).isEmpty, "left behind after kill -9 at \(killed): \(census(node, ids: [pod, id]))")
    }

    /// What the restarted daemon reports is what the steps so far made.
    func expectRecovered(_ node: ContainerTests.Node, after step: Step, pod: String, container: String) async throws {
        let pods = try await node.daemon.withClient { try await $0.runtime.listPodSandbox(.with { $0.filter.id = pod }, options: $0.options).items }
        let podState: Runtime_V1_PodSandboxState? = step.rawValue >= Step.removePod.rawValue ? nil
            : step.rawValue >= Step.stopPod.rawValue ? .sandboxNotready : .sandboxReady
        #expect(pods.first?.state == podState, "pod after kill -9 at \(step): \(pods)")
        guard step.rawValue >= Step.create.rawValue else { return }
        let containers = try await node.daemon.withClient { try await $0.runtime.listContainers(.with { $0.filter.id = container }, options: $0.options).containers }
        let expected: Runtime_V1_ContainerState? = switch step {
        case .create: .containerCreated
        case .start: nil   // running or, a second on, exited: both are right
        case .exited, .stop: .containerExited
        default: nil
        }
        if step.rawValue >= Step.remove.rawValue {
            #expect(containers.isEmpty, "container after kill -9 at \(step): \(containers)")
        } else if let expected {
            #expect(containers.first?.state == expected, "container after kill -9 at \(step): \(containers)")
        } else {
            #expect(containers.count == 1)
        }
    }

    /// Everything that could outlive a pod and its container, by their ids: mounts, processes
    /// (monitors, the pid holder, the container), cgroups, and the daemon's directories.
    func census(_ node: ContainerTests.Node, ids: [String]) -> [String] {
        var found: [String] = []
        let mounts = FileSystem.mountInfo()
        for id in ids where mounts.contains(id) { found.append("a mount of \(id)") }
        for pid in FileSystem.directoryEntries("/proc") where Int32(pid) != nil {
            let cmdline = String(decoding: (try? AtomicFile.read("/proc/\(pid)/cmdline", limit: 1 << 16)) ?? [], as: UTF8.self)
            for id in ids where cmdline.contains(id) { found.append("process \(pid): \(cmdline.prefix(120))") }
        }
        let v2 = cgroup2Mount()
        for id in ids where FileSystem.exists(v2 + "/skiff/" + id) { found.append("cgroup /skiff/\(id)") }
        let dirs = [node.daemon.root + "/containers", node.daemon.state + "/containers", node.daemon.state + "/runtime",
                    node.daemon.state + "/ns", node.daemon.root + "/pods", node.daemon.state + "/pods"]
        for dir in dirs {
            for entry in FileSystem.directoryEntries(dir) where ids.contains(entry) { found.append(dir + "/" + entry) }
        }
        return found
    }
}
