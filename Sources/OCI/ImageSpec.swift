/// The OCI image and distribution formats (and Docker's schema 2, which registries still serve):
/// descriptors, manifests, indexes and the image configuration. Pure data: the image store
/// decodes registry answers into these and checks them with `validate()` before trusting a field.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// Schema 1 is refused, by name, wherever it shows up.
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    public static let manifests: Set<String> = [ociManifest, dockerManifest]
    public static let indexes: Set<String> = [ociIndex, dockerManifestList]
    public static let layers: Set<String> = [ociLayer, ociLayerGzip, ociLayerZstd, dockerLayerGzip]
}

public struct Platform: Codable, Hashable, Sendable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
    }
}

extension Platform: CustomStringConvertible {
    /// `os/architecture[/variant]`, as `--platform` flags write it.
    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// Parses `os/architecture[/variant]`; each part is lowercase letters, digits and `_`.
    public init(parsing text: String) throws(ImageSpecError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let valid = parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F } }
        guard (2...3).contains(parts.count), valid else {
            throw ImageSpecError(field: "platform", reason: "'\(text)' is not os/architecture[/variant] in lowercase")
        }
        self.init(architecture: parts[1], os: parts[0], variant: parts.count == 3 ? parts[2] : nil)
    }
}

public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(mediaType: String, digest: String, size: Int64, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
    }

    /// The digest is well formed and the size sensible: both come from the network.
    public func validate(field: String) throws(ImageSpecError) {
        guard Digest.isValid(digest) else { throw ImageSpecError(field: field + ".digest", reason: "'\(digest)' is not a sha256 or sha512 digest") }
        guard size >= 0 else { throw ImageSpecError(field: field + ".size", reason: "negative") }
    }
}

public struct ImageManifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }

    public func validate() throws(ImageSpecError) {
        guard schemaVersion == 2 else { throw ImageSpecError(field: "schemaVersion", reason: "\(schemaVersion), expected 2") }
        try config.validate(field: "config")
        for (i, layer) in layers.enumerated() {
            try layer.validate(field: "layers[\(i)]")
            guard MediaType.layers.contains(layer.mediaType) else {
                throw ImageSpecError(field: "layers[\(i)].mediaType", reason: "'\(layer.mediaType)' is not a layer type skiff can unpack")
            }
        }
    }
}

public struct ImageIndex: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
    }

    public func validate() throws(ImageSpecError) {
        guard schemaVersion == 2 else { throw ImageSpecError(field: "schemaVersion", reason: "\(schemaVersion), expected 2") }
        for (i, manifest) in manifests.enumerated() { try manifest.validate(field: "manifests[\(i)]") }
    }

    /// The manifest for `platform`: os and architecture must match; a variant, when asked for,
    /// too (an entry without one matches any). Earlier entries win, as in containerd.
    public func manifest(for platform: Platform) -> Descriptor? {
        manifests.first { entry in
            guard let p = entry.platform, p.os == platform.os, p.architecture == platform.architecture else { return false }
            return platform.variant == nil || p.variant == nil || p.variant == platform.variant
        }
    }
}

/// The image configuration (`application/vnd.oci.image.config.v1+json`).
public struct ImageConfiguration: Codable, Hashable, Sendable {
    public struct Config: Codable, Hashable, Sendable {
        public var user: String?
        public var env: [String]?
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var workingDir: String?
        public var labels: [String: String]?
        public var stopSignal: String?
        public var exposedPorts: [String: Empty]?
        public var volumes: [String: Empty]?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case user = "User", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd", workingDir = "WorkingDir"
            case labels = "Labels", stopSignal = "StopSignal", exposedPorts = "ExposedPorts", volumes = "Volumes"
        }
    }

    /// `{}` in `ExposedPorts` and `Volumes`.
    public struct Empty: Codable, Hashable, Sendable {
        public init() {}
    }

    public struct RootFS: Codable, Hashable, Sendable {
        public var type: String
        public var diffIDs: [String]

        public init(diffIDs: [String]) {
            type = "layers"
            self.diffIDs = diffIDs
        }

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var variant: String?
    public var config: Config?
    public var rootfs: RootFS

    public init(architecture: String, os: String, config: Config? = nil, rootfs: RootFS) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
    }

    public func validate() throws(ImageSpecError) {
        guard rootfs.type == "layers" else { throw ImageSpecError(field: "rootfs.type", reason: "'\(rootfs.type)', expected 'layers'") }
        for (i, id) in rootfs.diffIDs.enumerated() where !Digest.isValid(id) {
            throw ImageSpecError(field: "rootfs.diff_ids[\(i)]", reason: "'\(id)' is not a digest")
        }
    }
}

public struct ImageSpecError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let reason: String
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { "\(field): \(reason)" }
}

/// `sha256:<64 lowercase hex>` (or sha512 with 128).
public enum Digest {
    public static func isValid(_ digest: String) -> Bool {
        let parts = digest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return false }
        let length: Int
        switch parts[0] {
        case "sha256": length = 64
        case "sha512": length = 128
        default: return false
        }
        return parts[1].utf8.count == length
            && parts[1].utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The hex part, for file names; only call on a validated digest.
    public static func hex(_ digest: String) -> Substring {
        digest[digest.index(after: digest.firstIndex(of: ":")!)...]
    }
}
