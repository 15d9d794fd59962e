#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import FoundationEssentials
import LinuxKit
import NIOCore
import NIOHTTP1
import OCI
import Synchronization

/// The OCI distribution API, client side: manifests by tag or digest (OCI and Docker schema 2,
/// images and indexes) and blobs streamed into the content store. Each registry's endpoints come
/// from `RegistryHosts` (mirrors first, then the server); a request that fails on one endpoint
/// is tried on the next. Every byte it hands on is checked against a digest first.
public final class RegistryClient: Sendable {
    let http: HTTPClient
    public let hosts: RegistryHosts
    let authFile: DockerAuthFile?
    /// Bearer tokens by "host repository": reused until the registry refuses one.
    let tokens = Mutex<[String: String]>([:])

    public static let manifestAccept = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList,
                                        MediaType.dockerManifest].joined(separator: ", ")
    static let manifestLimit = 4 << 20

    /// How long a connection may take, and how long a registry may stay silent (before the
    /// response head, or between two reads of a body) before the request fails.
    public struct Timeouts: Sendable {
        public var connect: Int64
        public var read: Int64
        public init(connect: Int64 = 10, read: Int64 = 30) {
            self.connect = connect
            self.read = read
        }
    }

    let timeouts: Timeouts

    public init(hosts: RegistryHosts = RegistryHosts(), authFile: DockerAuthFile? = nil, timeouts: Timeouts = Timeouts()) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .follow(max: 5, allowCycles: false))
        configuration.timeout = .init(connect: .seconds(timeouts.connect), read: .seconds(timeouts.read))
        self.timeouts = timeouts
        // A refused connection or a failed TLS handshake fails the request at once instead of
        // being retried until the connect timeout: the next endpoint (mirror, then upstream) is
        // the retry, and the kubelet retries a failed pull with its own back-off.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.hosts = hosts
        self.authFile = authFile
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
    /// registry serves one). A tag needs an endpoint that may `resolve`; a digest any that may `pull`.
    public func manifest(for reference: ImageReference, platform: Platform, credentials: RegistryCredentials?) async throws(ImageError) -> Manifest {
        try await onEndpoints(reference, reference.digest == nil ? .resolve : .pull) { endpoint throws(ImageError) in
            try await self.manifest(for: reference, platform: platform, at: endpoint, credentials: credentials)
        }
    }

    /// Called once per download attempt as the body starts to arrive, with a descriptor of the
    /// file being written (the callee closes it) and the progress to read it along with.
    public typealias BodyObserver = @Sendable (_ fd: Int32, _ progress: BlobProgress) -> Void

    /// Downloads a blob into `store` (verified on the way), unless it is there already. A partial
    /// file that an interrupted pull left is continued with a `Range` request.
    public func fetchBlob(_ reference: ImageReference, _ descriptor: Descriptor, into store: ContentStore,
                          credentials: RegistryCredentials?, onBody: BodyObserver? = nil) async throws(ImageError) {
        if store.contains(descriptor) { return }
        try await onEndpoints(reference, .pull) { endpoint throws(ImageError) in
            do throws(ImageError) {
                try await self.fetchBlob(reference, descriptor, into: store, at: endpoint, credentials: credentials, onBody: onBody)
            } catch {
                // A continued download may have kept a wrong prefix. The ingest is gone now, so
                // start over once; a registry that serves wrong bytes fails the same way again.
                guard case .content(.digestMismatch) = error else { throw error }
                try await self.fetchBlob(reference, descriptor, into: store, at: endpoint, credentials: credentials, onBody: onBody)
            }
        }
    }

    // MARK: per endpoint

    /// Runs `body` on each endpoint that has `capability`, in order, until one succeeds; the
    /// last failure (the upstream server's, when mirrors came first) is the one reported.
    func onEndpoints<T>(_ reference: ImageReference, _ capability: RegistryEndpoint.Capability,
                        _ body: (RegistryEndpoint) async throws(ImageError) -> T) async throws(ImageError) -> T {
        let endpoints = try hosts.endpoints(for: reference.domain).filter { $0.capabilities.contains(capability) }
        var failure = ImageError.registry(.configuration("no endpoint of \(reference.domain) may \(capability.rawValue)"))
        for endpoint in endpoints {
            do { return try await body(endpoint) } catch { failure = error }
        }
        throw failure
    }

    func manifest(for reference: ImageReference, platform: Platform, at endpoint: RegistryEndpoint,
                  credentials: RegistryCredentials?) async throws(ImageError) -> Manifest {
        let first = try await fetchManifest(reference, ref: reference.digest ?? reference.tag ?? ImageReference.defaultTag,
                                            expected: reference.digest, at: endpoint, credentials: credentials)
        guard MediaType.indexes.contains(first.mediaType) else {
            return Manifest(descriptor: Descriptor(mediaType: first.mediaType, digest: first.digest, size: Int64(first.bytes.count)),
                            manifest: try validManifest(first.bytes, reference), resolvedDigest: first.digest)
        }
        let index: ImageIndex = try decode(first.bytes, what: "index")
        do { try index.validate() } catch { throw .registry(.badResponse("index of \(reference): \(error)")) }
        guard let entry = index.manifest(for: platform) else {
            throw .registry(.noMatchingPlatform(reference.description, platform: platform.description,
                                                available: index.manifests.compactMap(\.platform?.description)))
        }
        let chosen = try await fetchManifest(reference, ref: entry.digest, expected: entry.digest, at: endpoint, credentials: credentials)
        guard MediaType.manifests.contains(chosen.mediaType) else {
            throw .registry(.unsupportedMediaType("\(reference): index entry \(entry.digest) is \(chosen.mediaType)"))
        }
        return Manifest(descriptor: Descriptor(mediaType: chosen.mediaType, digest: entry.digest, size: Int64(chosen.bytes.count)),
                        manifest: try validManifest(chosen.bytes, reference), resolvedDigest: first.digest)
    }

    func fetchBlob(_ reference: ImageReference, _ descriptor: Descriptor, into store: ContentStore, at endpoint: RegistryEndpoint,
                   credentials: RegistryCredentials?, onBody: BodyObserver?) async throws(ImageError) {
        // Adopting a partial rehashes it, and a commit fsyncs: both can take long, so off the pool.
        let ingest: Ingest
        do { ingest = try await OffPool.run { try store.ingest(descriptor) } } catch {
            throw error as? ImageError ?? .registry(.transport("\(error)"))
        }
        var resumeAt = ingest.written
        if resumeAt == descriptor.size {
            // A download that got every byte but died before its commit: nothing left to ask for.
            do { try await OffPool.run { try ingest.commit() } } catch { throw error as? ImageError ?? .content(.aborted(descriptor.digest)) }
            return
        }
        let url = endpoint.url(repository: reference.path, "blobs/" + descriptor.digest, namespace: reference.domain)
        var response: HTTPClientResponse
        do {
            response = try await send(url, accept: nil, range: resumeAt > 0 ? resumeAt : nil, reference: reference,
                                      at: endpoint, credentials: credentials)
            if response.status == .rangeNotSatisfiable, resumeAt > 0 {
                // The registry will not continue this partial: start over.
                try ingest.restart()
                resumeAt = 0
                response = try await send(url, accept: nil, reference: reference, at: endpoint, credentials: credentials)
            }
        } catch {
            // The bytes so far stay for the next endpoint or pull to continue.
            ingest.suspend()
            throw error
        }
        let what = "blob \(descriptor.digest) of \(reference)"
        do {
            switch response.status {
            case .partialContent where resumeAt > 0:
                guard response.headers.first(name: "content-range")?.hasPrefix("bytes \(resumeAt)-") == true else {
                    ingest.abort()
                    throw ImageError.registry(.badResponse("\(what): Content-Range does not continue at byte \(resumeAt)"))
                }
            case .ok:
                if resumeAt > 0 { try ingest.restart() }
            default:
                ingest.suspend()
                throw statusError(response.status, what: what)
            }
            if let onBody {
                let fd = open(ingest.path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    let progress = BlobProgress()
                    progress.advance(to: ingest.written)
                    ingest.progress = progress
                    onBody(fd, progress)
                }
            }
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes { try ingest.write($0) }
            }
            try await OffPool.run { try ingest.commit() }
        } catch let error as ImageError {
            throw error
        } catch {
            // The connection broke: keep what arrived for the next attempt to continue.
            ingest.suspend()
            throw .registry(.transport("\(what): \(error)"))
        }
    }

    // MARK: manifests

    struct FetchedManifest {
        var mediaType: String
        var digest: String
        var bytes: [UInt8]
    }

    func fetchManifest(_ reference: ImageReference, ref: String, expected: String?, at endpoint: RegistryEndpoint,
                       credentials: RegistryCredentials?) async throws(ImageError) -> FetchedManifest {
        let url = endpoint.url(repository: reference.path, "manifests/" + ref, namespace: reference.domain)
        let response = try await send(url, accept: Self.manifestAccept, reference: reference, at: endpoint, credentials: credentials)
        guard response.status == .ok else { throw statusError(response.status, what: "manifest \(ref) of \(reference.repository)") }
        let bytes: [UInt8]
        do {
            bytes = Array(buffer: try await response.body.collect(upTo: Self.manifestLimit))
        } catch {
            throw .registry(.badResponse("manifest of \(reference): \(error)"))
        }
        let contentType = response.headers.first(name: "content-type")?.split(separator: ";").first.map { $0.trimmingSpaces() } ?? ""
        if contentType == MediaType.dockerSchema1 || contentType == MediaType.dockerSchema1Signed {
            throw .registry(.schema1(reference.description))
        }
        let digest = ContentDigest.sha256(bytes)
        if let expected, expected != digest { throw .registry(.digestMismatch(what: "manifest of \(reference)", expected: expected, actual: digest)) }
        // The body's own mediaType wins over a generic Content-Type (some registries send JSON).
        let declared = (try? JSONDecoder().decode(MediaTypeProbe.self, from: Data(bytes)))?.mediaType
        let mediaType = declared ?? contentType
        if mediaType == MediaType.dockerSchema1 || mediaType == MediaType.dockerSchema1Signed { throw .registry(.schema1(reference.description)) }
        guard MediaType.manifests.contains(mediaType) || MediaType.indexes.contains(mediaType) else {
            throw .registry(.unsupportedMediaType("\(reference): manifest type '\(mediaType)'"))
        }
        return FetchedManifest(mediaType: mediaType, digest: digest, bytes: bytes)
    }

    func validManifest(_ bytes: [UInt8], _ reference: ImageReference) throws(ImageError) -> ImageManifest {
        let manifest: ImageManifest = try decode(bytes, what: "manifest")
        do { try manifest.validate() } catch { throw .registry(.badResponse("manifest of \(reference): \(error)")) }
        return manifest
    }

    func decode<T: Decodable>(_ bytes: [UInt8], what: String) throws(ImageError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch { throw .registry(.badResponse("\(what) is not valid JSON: \(error)")) }
    }

    func statusError(_ status: HTTPResponseStatus, what: String) -> ImageError {
        .registry(status == .notFound ? .notFound(what) : .badResponse("\(what): HTTP \(status.code)"))
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
