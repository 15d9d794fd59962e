import CRIAPI
import GRPCCore
import PodManager

// Container statistics from the cgroup v2 files: what the node has, nothing invented.
extension RuntimeServiceAdapter {
    public func containerStats(request: Runtime_V1_ContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatsResponse {
        try await CRIStatus.serving("ContainerStats", logger: logger) {
            let (record, stats) = try await containers.stats(request.containerID)
            return .with { $0.stats = Self.stats(record, stats) }
        }
    }

    public func listContainerStats(request: Runtime_V1_ListContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ListContainerStatsResponse {
        try await CRIStatus.serving("ListContainerStats", logger: logger) {
            let filter = request.hasFilter ? request.filter : nil
            let all = await containers.allStats().filter { record, _ in
                guard let filter else { return true }
                if !filter.id.isEmpty && !record.id.hasPrefix(filter.id) { return false }
                if !filter.podSandboxID.isEmpty && !record.podID.hasPrefix(filter.podSandboxID) { return false }
                return filter.labelSelector.allSatisfy { record.labels[$0.key] == $0.value }
            }
            return .with { $0.stats = all.map { Self.stats($0.0, $0.1) } }
        }
    }

    public func podSandboxStats(request: Runtime_V1_PodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatsResponse {
        try await CRIStatus.serving("PodSandboxStats", logger: logger) {
            let stats = try await containers.podStats(request.podSandboxID)
            return .with { $0.stats = Self.stats(stats) }
        }
    }

    public func listPodSandboxStats(request: Runtime_V1_ListPodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxStatsResponse {
        try await CRIStatus.serving("ListPodSandboxStats", logger: logger) {
            let filter = request.hasFilter ? request.filter : nil
            let all = await containers.allPodStats().filter { pod in
                guard let filter else { return true }
                if !filter.id.isEmpty && !pod.record.id.hasPrefix(filter.id) { return false }
                return filter.labelSelector.allSatisfy { pod.record.spec.labels[$0.key] == $0.value }
            }
            return .with { $0.stats = all.map(Self.stats) }
        }
    }

    static func stats(_ pod: PodStats) -> Runtime_V1_PodSandboxStats {
        let s = pod.usage
        return .with { out in
            out.attributes = .with {
                $0.id = pod.record.id
                $0.metadata = metadata(pod.record.spec)
                $0.labels = pod.record.spec.labels
                $0.annotations = pod.record.spec.annotations
            }
            out.linux = .with { linux in
                cpu(s).map { linux.cpu = $0 }
                memory(s).map { linux.memory = $0 }
                if let count = pod.processCount {
                    linux.process = .with { $0.timestamp = s.timestamp; $0.processCount = .with { $0.value = count } }
                }
                if !pod.interfaces.isEmpty {
                    let interfaces = pod.interfaces.map { i in
                        Runtime_V1_NetworkInterfaceUsage.with {
                            $0.name = i.name
                            $0.rxBytes = .with { $0.value = i.rxBytes }
                            $0.rxErrors = .with { $0.value = i.rxErrors }
                            $0.txBytes = .with { $0.value = i.txBytes }
                            $0.txErrors = .with { $0.value = i.txErrors }
                        }
                    }
                    linux.network = .with {
                        $0.timestamp = s.timestamp
                        $0.interfaces = interfaces
                        if let main = interfaces.first(where: { $0.name == "eth0" }) ?? interfaces.first { $0.defaultInterface = main }
                    }
                }
                linux.containers = pod.containers.map { stats($0.0, $0.1) }
            }
        }
    }

    static func stats(_ record: CRIContainer, _ s: ContainerStats) -> Runtime_V1_ContainerStats {
        return .with { out in
            out.attributes = .with {
                $0.id = record.id
                $0.metadata = metadata(record)
                $0.labels = record.labels
                $0.annotations = record.annotations
            }
            cpu(s).map { out.cpu = $0 }
            memory(s).map { out.memory = $0 }
            if let layer = s.writableLayer {
                out.writableLayer = .with {
                    $0.timestamp = s.timestamp
                    $0.fsID = .with { $0.mountpoint = s.writableLayerPath }
                    $0.usedBytes = .with { $0.value = layer.bytes }
                    $0.inodesUsed = .with { $0.value = layer.inodes }
                }
            }
        }
    }

    static func value(_ v: UInt64?) -> Runtime_V1_UInt64Value? { v.map { n in .with { $0.value = n } } }

    static func cpu(_ s: ContainerStats) -> Runtime_V1_CpuUsage? {
        value(s.cpuUsageNanoseconds).map { usage in .with { $0.timestamp = s.timestamp; $0.usageCoreNanoSeconds = usage } }
    }

    /// Present when anything about memory is known; each figure only where it is.
    static func memory(_ s: ContainerStats) -> Runtime_V1_MemoryUsage? {
        guard s.memoryUsage != nil || s.memoryRSS != nil else { return nil }
        return .with { m in
            m.timestamp = s.timestamp
            value(s.memoryUsage).map { m.usageBytes = $0 }
            value(s.memoryWorkingSet).map { m.workingSetBytes = $0 }
            value(s.memoryAvailable).map { m.availableBytes = $0 }
            value(s.memoryRSS).map { m.rssBytes = $0 }
            value(s.pageFaults).map { m.pageFaults = $0 }
            value(s.majorPageFaults).map { m.majorPageFaults = $0 }
        }
    }
}
