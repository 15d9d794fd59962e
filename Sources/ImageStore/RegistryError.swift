/// Why a pull could not talk to a registry or did not like its answer; `CRIStatus` maps each
/// case to a gRPC code.
public enum RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    case unauthorized(String)
    case notFound(String)
    case schema1(String)
    case unsupportedMediaType(String)
    case noMatchingPlatform(String, platform: String, available: [String])
    case digestMismatch(what: String, expected: String, actual: String)
    case badResponse(String)
    case badCredentials(String)
    case transport(String)
    case configuration(String)
    case content(ContentError)

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
        case .content(let e): e.description
        }
    }
}
