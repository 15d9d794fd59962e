import LinuxKit

/// Why an image operation failed: the one error type of ImageStore. A pull's failures carry the
/// reason given by the step that failed (the registry, the content store, the unpack); `CRIStatus`
/// maps every case to a gRPC code.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not an image reference; `reason` says which part is wrong.
    case invalidReference(String, reason: String)
    /// The image contradicts itself (its config, its layers and diffIDs).
    case badImage(String)
    /// RemoveImage of an image that containers use.
    case inUse(String, containers: [String])
    /// An image record could not be saved.
    case store(String)
    case registry(RegistryReason)
    case content(ContentReason)
    case unpack(UnpackReason)

    public var description: String {
        switch self {
        case .invalidReference(let reference, let reason): "invalid image reference \"\(reference)\": \(reason)"
        case .badImage(let m): "bad image: \(m)"
        case .inUse(let image, let containers): "image \(image) is in use by container \(containers.joined(separator: ", "))"
        case .store(let m): "image store: \(m)"
        case .registry(let reason): reason.description
        case .content(let reason): reason.description
        case .unpack(let reason): reason.description
        }
    }

    /// A registry could not be reached or configured, or did not like or give what was asked.
    public enum RegistryReason: Equatable, Sendable, CustomStringConvertible {
        case unauthorized(String)
        case notFound(String)
        case schema1(String)
        case unsupportedMediaType(String)
        case noMatchingPlatform(String, platform: String, available: [String])
        case digestMismatch(what: String, expected: String, actual: String)
        case badResponse(String)
        case badCredentials(String)
        case transport(String)
        /// hosts.toml, the auth file, or a CA file.
        case configuration(String)

        public var description: String {
            switch self {
            case .unauthorized(let m): "unauthorized: \(m)"
            case .notFound(let m): "not found: \(m)"
            case .schema1(let r): "\(r): Docker schema 1 manifests are not supported (re-push the image with a current client)"
            case .unsupportedMediaType(let m): "unsupported media type: \(m)"
            case .noMatchingPlatform(let r, let p, let available): "\(r) has no image for \(p) (it has \(available.joined(separator: ", ")))"
            case .digestMismatch(let what, let expected, let actual): "\(what) does not match its digest: expected \(expected), got \(actual)"
            case .badResponse(let m): "bad registry response: \(m)"
            case .badCredentials(let m): "bad credentials: \(m)"
            case .transport(let m): "registry unreachable: \(m)"
            case .configuration(let m): "registry configuration: \(m)"
            }
        }
    }

    /// A blob could not be stored or read, or was not what its descriptor promised.
    public enum ContentReason: Equatable, Sendable, CustomStringConvertible {
        case invalidDigest(String)
        case notFound(String)
        case digestMismatch(expected: String, actual: String)
        case sizeMismatch(String, expected: Int64, actual: Int64)
        case aborted(String)
        case system(SystemError)

        public var description: String {
            switch self {
            case .invalidDigest(let d): "'\(d)' is not a valid digest"
            case .notFound(let d): "blob \(d) is not in the content store"
            case .digestMismatch(let expected, let actual): "content does not match its digest: expected \(expected), got \(actual)"
            case .sizeMismatch(let d, let expected, let actual): "blob \(d) has \(actual) bytes, expected \(expected)"
            case .aborted(let d): "the ingest of \(d) was aborted"
            case .system(let error): error.description
            }
        }
    }

    /// A layer could not be unpacked into its snapshot, or its tar was not the one the config names.
    public enum UnpackReason: Equatable, Sendable, CustomStringConvertible {
        case invalidDigest(String)
        case layer(String, String)
        case diffIDMismatch(expected: String, actual: String)
        case system(String)

        public var description: String {
            switch self {
            case .invalidDigest(let d): "'\(d)' is not a valid digest"
            case .layer(let diffID, let message): "layer \(diffID): \(message)"
            case .diffIDMismatch(let expected, let actual): "layer content does not match the image config: diffID \(expected), got \(actual)"
            case .system(let message): message
            }
        }
    }
}
