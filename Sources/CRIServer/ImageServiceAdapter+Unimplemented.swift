import CRIAPI
import GRPCCore

// RPCs Skiff does not serve yet. Each answers UNIMPLEMENTED naming itself, which is what the
// kubelet, crictl and critest test for; a method moves to its own file when it becomes real.
extension ImageServiceAdapter {
    public func streamImages(request: Runtime_V1_StreamImagesRequest, response: GRPCCore.RPCWriter<Runtime_V1_StreamImagesResponse>, context: ServerContext) async throws {
        throw CRIStatus.unimplemented("StreamImages")
    }
}
