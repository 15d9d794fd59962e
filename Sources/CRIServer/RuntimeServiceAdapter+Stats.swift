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

    static func stats(_ record: CRIContainer, _ s: ContainerStats) -> Runtime_V1_ContainerStats {
        func value(_ v: UInt64?) -> Runtime_V1_UInt64Value? { v.map { n in .with { $0.value = n } } }
        return .with { out in
            out.attributes = .with {
                $0.id = record.id
                $0.metadata = metadata(record)
                $0.labels = record.labels
                $0.annotations = record.annotations
            }
            if let usage = value(s.cpuUsageNanoseconds) {
                out.cpu = .with { $0.timestamp = s.timestamp; $0.usageCoreNanoSeconds = usage }
            }
            if s.memoryUsage != nil || s.memoryRSS != nil {
                out.memory = .with { m in
                    m.timestamp = s.timestamp
                    value(s.memoryUsage).map { m.usageBytes = $0 }
                    value(s.memoryWorkingSet).map { m.workingSetBytes = $0 }
                    value(s.memoryAvailable).map { m.availableBytes = $0 }
                    value(s.memoryRSS).map { m.rssBytes = $0 }
                    value(s.pageFaults).map { m.pageFaults = $0 }
                    value(s.majorPageFaults).map { m.majorPageFaults = $0 }
                }
            }
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
}
