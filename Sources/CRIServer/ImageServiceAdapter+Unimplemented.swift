import CRIAPI
import GRPCCore

// RPCs Skiff does not serve yet. Each answers UNIMPLEMENTED naming itself, which is what the
// kubelet, crictl and critest test for; a method moves to its own file when it becomes real.
extension ImageServiceAdapter {
    public func listImages(request: Runtime_V1_ListImagesRequest, context: ServerContext) async throws -> Runtime_V1_ListImagesResponse {
        throw CRIStatus.unimplemented("ListImages")
    }

    public func streamImages(request: Runtime_V1_StreamImagesRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamImagesResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamImages")
    }

    public func imageStatus(request: Runtime_V1_ImageStatusRequest, context: ServerContext) async throws -> Runtime_V1_ImageStatusResponse {
        throw CRIStatus.unimplemented("ImageStatus")
    }

    public func pullImage(request: Runtime_V1_PullImageRequest, context: ServerContext) async throws -> Runtime_V1_PullImageResponse {
        throw CRIStatus.unimplemented("PullImage")
    }

    public func removeImage(request: Runtime_V1_RemoveImageRequest, context: ServerContext) async throws -> Runtime_V1_RemoveImageResponse {
        throw CRIStatus.unimplemented("RemoveImage")
    }
}
