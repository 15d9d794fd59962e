import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import Testing

/// ListMetricDescriptors and ListPodSandboxMetrics against a real skiffd and container.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct PodMetricsTests {
    @Test func aRunningContainersMetricsMatchTheirDescriptors() async throws {
        let node = try await ContainerTests.Node()
        let before = Date().timeIntervalSince1970
        let id = try await node.create("busy", "head -c 1048576 /dev/zero > /filler; sleep 1000 & while true; do :; done")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        try await Task.sleep(for: .milliseconds(800))
        let descriptors = try await node.daemon.withClient { try await $0.runtime.listMetricDescriptors(.init(), options: $0.options).descriptors }
        let described = Dictionary(uniqueKeysWithValues: descriptors.map { ($0.name, $0) })
        #expect(described["container_cpu_usage_seconds_total"]?.labelKeys == ["container", "id", "image", "name", "namespace", "pod"])
        let all = try await node.daemon.withClient { try await $0.runtime.listPodSandboxMetrics(.init(), options: $0.options).podMetrics }
        let pod = try #require(all.first { $0.podSandboxID == node.pod })
        #expect(pod.containerMetrics.map(\.containerID) == [id])
        let samples = pod.containerMetrics[0].metrics
        func value(_ name: String) -> UInt64? { samples.first { $0.name == name }?.value.value }
        for sample in samples + pod.metrics {
            #expect(described[sample.name]?.labelKeys.count == sample.labelValues.count, "\(sample.name): \(sample.labelValues)")
        }
        let first = try #require(samples.first)
        #expect(first.labelValues[0] == "busy" && first.labelValues[3] == id && first.labelValues[4] == "default" && first.labelValues[5] == "box")
        #expect(first.labelValues[2] == node.image && first.labelValues[1].hasPrefix("/") && first.labelValues[1].contains(id), "\(first.labelValues)")
        // The shell, the sleep, their descriptors; started after the test did; 1 MiB written.
        #expect((value("container_processes") ?? 0) >= 2 && (value("container_threads") ?? 0) >= 2)
        #expect((value("container_file_descriptors") ?? 0) >= 3)
        #expect(Double(value("container_start_time_seconds") ?? 0) >= before.rounded(.down))
        #expect((value("container_fs_usage_bytes") ?? 0) >= 1 << 20 && (value("container_fs_inodes_total") ?? 0) > 0)
        #expect(value("container_cpu_usage_seconds_total") != nil && value("container_ulimits_soft") ?? 0 > 0)
        // Memory figures only where the tree has the memory controller.
        let hasMemory = ((try? String(contentsOfFile: cgroup2Mount() + "/cgroup.controllers", encoding: .utf8)) ?? "").contains("memory")
        #expect((value("container_memory_usage_bytes") != nil) == hasMemory)
        // Stopped containers are not measured; the pod stays listed while ready.
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id; $0.timeout = 0 }, options: $0.options) }
        let after = try await node.daemon.withClient { try await $0.runtime.listPodSandboxMetrics(.init(), options: $0.options).podMetrics }
        #expect(after.first { $0.podSandboxID == node.pod }?.containerMetrics.isEmpty == true)
        _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
    }
}
