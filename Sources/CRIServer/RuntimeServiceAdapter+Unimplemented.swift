import CRIAPI
import GRPCCore

// RPCs Skiff does not serve yet. Each answers UNIMPLEMENTED naming itself, which is what the
// kubelet, crictl and critest test for; a method moves to its own file when it becomes real.
extension RuntimeServiceAdapter {

    public func streamPodSandboxes(request: Runtime_V1_StreamPodSandboxesRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamPodSandboxesResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamPodSandboxes")
    }

    public func streamContainers(request: Runtime_V1_StreamContainersRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamContainersResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamContainers")
    }

    public func streamContainerStats(request: Runtime_V1_StreamContainerStatsRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamContainerStatsResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamContainerStats")
    }

    public func streamPodSandboxStats(request: Runtime_V1_StreamPodSandboxStatsRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamPodSandboxStatsResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamPodSandboxStats")
    }

    public func checkpointContainer(request: Runtime_V1_CheckpointContainerRequest, context: ServerContext) async throws -> Runtime_V1_CheckpointContainerResponse {
        throw CRIStatus.unimplemented("CheckpointContainer")
    }

    public func streamPodSandboxMetrics(request: Runtime_V1_StreamPodSandboxMetricsRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamPodSandboxMetricsResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamPodSandboxMetrics")
    }

    public func updatePodSandboxResources(request: Runtime_V1_UpdatePodSandboxResourcesRequest, context: ServerContext) async throws -> Runtime_V1_UpdatePodSandboxResourcesResponse {
        throw CRIStatus.unimplemented("UpdatePodSandboxResources")
    }
}
