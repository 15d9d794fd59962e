import CRIAPI
import FoundationEssentials
import GRPCCore
import ImageStore
import OCI
import PodManager

/// PullImage, ImageStatus, ListImages and RemoveImage over `ImageManager`.
extension ImageServiceAdapter {
    public func pullImage(request: Runtime_V1_PullImageRequest, context: ServerContext) async throws -> Runtime_V1_PullImageResponse {
        try await CRIStatus.serving("PullImage", logger: logger) {
            let name = try Self.required(request.image.image)
            let platform = try Self.platform(request.image.annotations[Self.platformAnnotation])
            let record = try await images.pull(name, credentials: try Self.credentials(request.hasAuth ? request.auth : nil),
                                               platform: platform)
            logger.info("pulled image", metadata: ["image": "\(name)", "id": "\(record.id)", "platform": "\(platform)"])
            return .with { $0.imageRef = record.id }
        }
    }

    /// An image that is not there is an empty answer, not an error (the kubelet pulls then).
    public func imageStatus(request: Runtime_V1_ImageStatusRequest, context: ServerContext) async throws -> Runtime_V1_ImageStatusResponse {
        try await CRIStatus.serving("ImageStatus", logger: logger) {
            let name = try Self.required(request.image.image)
            guard let record = await images.status(name) else { return Runtime_V1_ImageStatusResponse() }
            return .with {
                $0.image = Self.image(record)
                if request.verbose { $0.info = ["info": Self.verboseInfo(record)] }
            }
        }
    }

    public func listImages(request: Runtime_V1_ListImagesRequest, context: ServerContext) async throws -> Runtime_V1_ListImagesResponse {
        try await CRIStatus.serving("ListImages", logger: logger) {
            let filter = request.hasFilter && request.filter.hasImage ? request.filter.image.image : nil
            let records = await images.list(filter: filter)
            return .with { $0.images = records.map(Self.image) }
        }
    }

    /// Idempotent: removing an absent image succeeds.
    public func removeImage(request: Runtime_V1_RemoveImageRequest, context: ServerContext) async throws -> Runtime_V1_RemoveImageResponse {
        try await CRIStatus.serving("RemoveImage", logger: logger) {
            try await images.remove(try Self.required(request.image.image))
            return Runtime_V1_RemoveImageResponse()
        }
    }

    // MARK: translation

    /// CRI has no platform field; this image annotation (set by `skiffctl pull --platform`)
    /// asks for another platform than the node's.
    public static let platformAnnotation = "io.skiff.image.platform"

    static func platform(_ text: String?) throws -> Platform {
        guard let text, !text.isEmpty else { return ImageManager.defaultPlatform }
        do { return try Platform(parsing: text) } catch {
            throw PodManagerError.invalidArgument(field: "image.annotations[\(platformAnnotation)]", reason: error.reason)
        }
    }

    static func required(_ image: String) throws -> String {
        guard !image.isEmpty else { throw PodManagerError.invalidArgument(field: "image.image", reason: "required") }
        return image
    }

    static func credentials(_ auth: Runtime_V1_AuthConfig?) throws -> RegistryCredentials? {
        guard let auth else { return nil }
        var credentials = RegistryCredentials()
        if !auth.auth.isEmpty { credentials = try RegistryCredentials(auth: auth.auth) }
        if !auth.username.isEmpty { credentials.username = auth.username }
        if !auth.password.isEmpty { credentials.password = auth.password }
        if !auth.identityToken.isEmpty { credentials.identityToken = auth.identityToken }
        if !auth.registryToken.isEmpty { credentials.registryToken = auth.registryToken }
        guard credentials != RegistryCredentials() else { return nil }
        if !auth.serverAddress.isEmpty { credentials.serverAddress = auth.serverAddress }
        return credentials
    }

    static func image(_ record: ImageRecord) -> Runtime_V1_Image {
        .with {
            $0.id = record.id
            $0.repoTags = record.repoTags
            $0.repoDigests = record.repoDigests
            $0.size = record.size
            $0.pinned = record.pinned
            $0.spec.image = record.id
            // As containerd: a numeric user gives the uid, a name the username, none neither.
            let user = record.user.map { String($0.split(separator: ":", maxSplits: 1).first ?? "") } ?? ""
            if let uid = Int64(user) { $0.uid.value = uid } else { $0.username = user }
        }
    }

    static func verboseInfo(_ record: ImageRecord) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(record), as: UTF8.self)) ?? "{}"
    }
}
