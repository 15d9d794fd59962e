import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import OCI
import Synchronization

/// The OCI distribution API, client side: manifests by tag or digest (OCI and Docker schema 2,
/// images and indexes), blobs streamed into the content store, Basic and Bearer-token auth from
/// a `WWW-Authenticate` challenge. Loopback and configured insecure hosts speak plain HTTP; all
/// others HTTPS. Every byte it hands on is checked against a digest first.
public final class RegistryClient: Sendable {
    let http: HTTPClient
    let insecureHosts: Set<String>
    /// Bearer tokens by "host repository": reused until the registry refuses one.
    private let tokens = Mutex<[String: String]>([:])

    public static let manifestAccept = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList,
                                        MediaType.dockerManifest].joined(separator: ", ")
    static let manifestLimit = 4 << 20

    public init(insecureHosts: Set<String> = []) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .follow(max: 5, allowCycles: false))
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(60))
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.insecureHosts = insecureHosts
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// A fetched manifest, its digest checked.
    public struct Manifest: Sendable {
        public var descriptor: Descriptor
        public var manifest: ImageManifest
        /// The digest the reference resolved to: the index's when there was one (what
        /// `repo_digests` reports), else the manifest's.
        public var resolvedDigest: String
    }

    /// Resolves `reference` to the image manifest for `platform` (through an index if the
    /// registry serves one).
    public func manifest(for reference: ImageReference, platform: Platform, credentials: RegistryCredentials?) async throws(RegistryError) -> Manifest {
        let first = try await fetchManifest(reference, ref: reference.digest ?? reference.tag ?? ImageReference.defaultTag,
                                            expected: reference.digest, credentials: credentials)
        if MediaType.indexes.contains(first.mediaType) {
            let index: ImageIndex = try decode(first.bytes, what: "index")
            do { try index.validate() } catch { throw .badResponse("index of \(reference): \(error)") }
            guard let entry = index.manifest(for: platform) else {
                let available = index.manifests.compactMap { $0.platform }.map { [$0.os, $0.architecture, $0.variant].compactMap { $0 }.joined(separator: "/") }
                throw .noMatchingPlatform(reference.description, platform: "\(platform.os)/\(platform.architecture)", available: available)
            }
            let chosen = try await fetchManifest(reference, ref: entry.digest, expected: entry.digest, credentials: credentials)
            guard MediaType.manifests.contains(chosen.mediaType) else {
                throw .unsupportedMediaType("\(reference): index entry \(entry.digest) is \(chosen.mediaType)")
            }
            return Manifest(descriptor: Descriptor(mediaType: chosen.mediaType, digest: entry.digest, size: Int64(chosen.bytes.count)),
                            manifest: try validManifest(chosen.bytes, reference), resolvedDigest: first.digest)
        }
        return Manifest(descriptor: Descriptor(mediaType: first.mediaType, digest: first.digest, size: Int64(first.bytes.count)),
                        manifest: try validManifest(first.bytes, reference), resolvedDigest: first.digest)
    }

    /// Downloads a blob into `store` (verified on the way), unless it is there already.
    public func fetchBlob(_ reference: ImageReference, _ descriptor: Descriptor, into store: ContentStore,
                          credentials: RegistryCredentials?) async throws(RegistryError) {
        if store.contains(descriptor) { return }
        let url = baseURL(reference) + "/blobs/" + descriptor.digest
        let response = try await send(url, accept: nil, reference: reference, credentials: credentials)
        guard response.status == .ok else { throw statusError(response.status, what: "blob \(descriptor.digest) of \(reference)") }
        do {
            let ingest = try store.ingest(descriptor)
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes { try ingest.write($0) }
            }
            try ingest.commit()
        } catch let error as ContentError {
            throw .content(error)
        } catch {
            throw .transport("blob \(descriptor.digest) of \(reference): \(error)")
        }
    }

    // MARK: requests

    struct FetchedManifest {
        var mediaType: String
        var digest: String
        var bytes: [UInt8]
    }

    func fetchManifest(_ reference: ImageReference, ref: String, expected: String?, credentials: RegistryCredentials?) async throws(RegistryError) -> FetchedManifest {
        let response = try await send(baseURL(reference) + "/manifests/" + ref, accept: Self.manifestAccept,
                                      reference: reference, credentials: credentials)
        guard response.status == .ok else { throw statusError(response.status, what: "manifest \(ref) of \(reference.repository)") }
        let bytes: [UInt8]
        do {
            bytes = Array(buffer: try await response.body.collect(upTo: Self.manifestLimit))
        } catch {
            throw .badResponse("manifest of \(reference): \(error)")
        }
        let contentType = response.headers.first(name: "content-type")?.split(separator: ";").first.map { $0.trimmingSpaces() } ?? ""
        if contentType == MediaType.dockerSchema1 || contentType == MediaType.dockerSchema1Signed {
            throw .schema1(reference.description)
        }
        let digest = ContentDigest.sha256(bytes)
        if let expected, expected != digest { throw .digestMismatch(what: "manifest of \(reference)", expected: expected, actual: digest) }
        // The body's own mediaType wins over a generic Content-Type (some registries send JSON).
        let declared = (try? JSONDecoder().decode(MediaTypeProbe.self, from: Data(bytes)))?.mediaType
        let mediaType = declared ?? contentType
        if mediaType == MediaType.dockerSchema1 || mediaType == MediaType.dockerSchema1Signed { throw .schema1(reference.description) }
        guard MediaType.manifests.contains(mediaType) || MediaType.indexes.contains(mediaType) else {
            throw .unsupportedMediaType("\(reference): manifest type '\(mediaType)'")
        }
        return FetchedManifest(mediaType: mediaType, digest: digest, bytes: bytes)
    }

    /// One GET, answering the registry's challenge once: Basic with the credentials, or a
    /// Bearer token from the realm it names.
    func send(_ url: String, accept: String?, reference: ImageReference, credentials: RegistryCredentials?) async throws(RegistryError) -> HTTPClientResponse {
        let key = reference.domain + " " + reference.path
        var authorization = tokens.withLock { $0[key] }.map { "Bearer " + $0 } ?? credentials?.registryToken.map { "Bearer " + $0 }
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: url)
            if let accept { request.headers.add(name: "Accept", value: accept) }
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .seconds(120))
            } catch {
                throw .transport("\(reference.domain): \(error)")
            }
            guard response.status == .unauthorized, attempt == 0 else {
                if response.status == .unauthorized { throw .unauthorized("\(reference.repository): the registry refused the credentials") }
                return response
            }
            guard let header = response.headers.first(name: "www-authenticate"), let challenge = AuthChallenge(header: header) else {
                throw .unauthorized("\(reference.repository): 401 without a WWW-Authenticate challenge")
            }
            switch challenge.scheme {
            case "basic":
                guard let basic = credentials?.basicHeader else { throw .unauthorized("\(reference.repository): the registry needs a username and password") }
                authorization = basic
            case "bearer":
                let token = try await fetchToken(challenge, reference: reference, credentials: credentials)
                tokens.withLock { $0[key] = token }
                authorization = "Bearer " + token
            default:
                throw .unauthorized("\(reference.repository): unsupported auth scheme '\(challenge.scheme)'")
            }
        }
        throw .unauthorized(reference.repository)
    }

    func fetchToken(_ challenge: AuthChallenge, reference: ImageReference, credentials: RegistryCredentials?) async throws(RegistryError) -> String {
        guard let realm = challenge.parameters["realm"], realm.hasPrefix("http://") || realm.hasPrefix("https://") else {
            throw .unauthorized("\(reference.repository): the Bearer challenge has no usable realm")
        }
        var query = [("scope", challenge.parameters["scope"] ?? "repository:\(reference.path):pull")]
        if let service = challenge.parameters["service"] { query.insert(("service", service), at: 0) }
        var request = HTTPClientRequest(url: realm + (realm.contains("?") ? "&" : "?")
            + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&"))
        if let basic = credentials?.basicHeader { request.headers.add(name: "Authorization", value: basic) }
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            guard response.status == .ok else {
                throw RegistryError.unauthorized("\(reference.repository): the token service answered \(response.status.code)")
            }
            let body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            guard let token = try JSONDecoder().decode(TokenResponse.self, from: Data(body)).value else {
                throw RegistryError.unauthorized("\(reference.repository): the token service sent no token")
            }
            return token
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .transport("token from \(realm): \(error)")
        }
    }

    // MARK: helpers

    /// `http(s)://host/v2/<path>`: plain HTTP for loopback and hosts configured as insecure.
    func baseURL(_ reference: ImageReference) -> String {
        let host = reference.domain == ImageReference.defaultDomain ? "registry-1.docker.io" : reference.domain
        let hostOnly = host.hasPrefix("[") ? String(host[..<(host.firstIndex(of: "]").map { host.index(after: $0) } ?? host.endIndex)])
                                            : String(host.split(separator: ":").first ?? "")
        let plain = insecureHosts.contains(reference.domain) || ["localhost", "127.0.0.1", "[::1]"].contains(hostOnly)
            || hostOnly.hasPrefix("127.")
        return (plain ? "http://" : "https://") + host + "/v2/" + reference.path
    }

    func validManifest(_ bytes: [UInt8], _ reference: ImageReference) throws(RegistryError) -> ImageManifest {
        let manifest: ImageManifest = try decode(bytes, what: "manifest")
        do { try manifest.validate() } catch { throw .badResponse("manifest of \(reference): \(error)") }
        return manifest
    }

    func decode<T: Decodable>(_ bytes: [UInt8], what: String) throws(RegistryError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch { throw .badResponse("\(what) is not valid JSON: \(error)") }
    }

    func statusError(_ status: HTTPResponseStatus, what: String) -> RegistryError {
        status == .notFound ? .notFound(what) : .badResponse("\(what): HTTP \(status.code)")
    }

    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(UnicodeScalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) {
                out.append(c)
            } else {
                out += "%" + ContentDigest.hex([byte]).uppercased()
            }
        }
        return out
    }
}

struct MediaTypeProbe: Decodable {
    var mediaType: String?
}

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
        case .content(let e): e.description
        }
    }
}
