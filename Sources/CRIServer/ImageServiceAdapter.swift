import CRIAPI
import GRPCCore
import ImageStore
import Logging

/// `runtime.v1.ImageService` on top of the image store.
public struct ImageServiceAdapter: Runtime_V1_ImageService.SimpleServiceProtocol {
    let layout: ImageStoreLayout
    let images: ImageManager
    let logger: Logger

    public init(layout: ImageStoreLayout, images: ImageManager, logger: Logger) {
        self.layout = layout
        self.images = images
        self.logger = logger
    }

    public func imageFsInfo(
        request: Runtime_V1_ImageFsInfoRequest, context: ServerContext
    ) async throws -> Runtime_V1_ImageFsInfoResponse {
        try await CRIStatus.serving("ImageFsInfo", logger: logger) {
            let usage = try ImageFilesystemUsage.measure(layout)
            let entry = Runtime_V1_FilesystemUsage.with {
                $0.timestamp = usage.timestamp
                $0.fsID.mountpoint = usage.mountpoint
                $0.usedBytes.value = usage.usedBytes
                $0.inodesUsed.value = usage.inodesUsed
            }
            // Container layers live in the same snapshot directory, so both lists carry the same
            // filesystem, as containerd reports it for a single snapshotter.
            return .with {
                $0.imageFilesystems = [entry]
                $0.containerFilesystems = [entry]
            }
        }
    }
}
