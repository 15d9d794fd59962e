import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL

/// Requests to one endpoint: its headers and TLS settings, and the registry's auth challenge.
extension RegistryClient {
    /// One GET, answering the registry's challenge once: Basic with the credentials, or a Bearer
    /// token from the realm it names. Without request credentials for this endpoint (see
    /// `RegistryCredentials.apply`), the auth file's entry for the endpoint is used, and for the
    /// upstream server also the one for the image's registry.
    func send(_ url: String, accept: String?, range: Int64? = nil, reference: ImageReference, at endpoint: RegistryEndpoint,
              credentials given: RegistryCredentials?) async throws(ImageError) -> HTTPClientResponse {
        let key = endpoint.host + " " + reference.path
        let tls = try tlsConfiguration(endpoint)
        var credentials = given?.apply(to: endpoint, of: reference) == true ? given : nil
        var authorization = tokens.withLock { $0[key] }.map { "Bearer " + $0 } ?? credentials?.registryToken.map { "Bearer " + $0 }
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: url)
            request.tlsConfiguration = tls
            for header in endpoint.headers { request.headers.add(name: header.name, value: header.value) }
            if let accept { request.headers.add(name: "Accept", value: accept) }
            if let range { request.headers.add(name: "Range", value: "bytes=\(range)-") }
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response: HTTPClientResponse
            do {
                // The head must come within the connect and read timeouts; the body's reads are
                // bounded by the read timeout each.
                response = try await http.execute(request, timeout: .seconds(timeouts.connect + timeouts.read))
            } catch {
                throw .registry(.transport("\(endpoint.host): \(error)"))
            }
            guard response.status == .unauthorized, attempt == 0 else {
                if response.status == .unauthorized { throw .registry(.unauthorized("\(reference.repository): the registry refused the credentials")) }
                return response
            }
            guard let header = response.headers.first(name: "www-authenticate"), let challenge = AuthChallenge(header: header) else {
                throw .registry(.unauthorized("\(reference.repository): 401 without a WWW-Authenticate challenge"))
            }
            if credentials == nil, let authFile {
                credentials = try authFile.credentials(host: endpoint.host, domain: endpoint.isMirror ? nil : reference.domain)
            }
            switch challenge.scheme {
            case "basic":
                guard let basic = credentials?.basicHeader else { throw .registry(.unauthorized("\(reference.repository): the registry needs a username and password")) }
                authorization = basic
            case "bearer":
                let token = try await fetchToken(challenge, reference: reference, tls: tls, credentials: credentials)
                tokens.withLock { $0[key] = token }
                authorization = "Bearer " + token
            default:
                throw .registry(.unauthorized("\(reference.repository): unsupported auth scheme '\(challenge.scheme)'"))
            }
        }
        throw .registry(.unauthorized(reference.repository))
    }

    /// A token from the challenge's realm. An identity token is an OAuth2 refresh token and is
    /// traded with a POST (`grant_type=refresh_token`); otherwise a GET, with Basic credentials
    /// when there are any (anonymous tokens are how public images are pulled).
    func fetchToken(_ challenge: AuthChallenge, reference: ImageReference, tls: TLSConfiguration?,
                    credentials: RegistryCredentials?) async throws(ImageError) -> String {
        guard let realm = challenge.parameters["realm"], realm.hasPrefix("http://") || realm.hasPrefix("https://") else {
            throw .registry(.unauthorized("\(reference.repository): the Bearer challenge has no usable realm"))
        }
        var fields = [("scope", challenge.parameters["scope"] ?? "repository:\(reference.path):pull")]
        if let service = challenge.parameters["service"] { fields.insert(("service", service), at: 0) }
        var request: HTTPClientRequest
        if let refresh = credentials?.identityToken {
            fields += [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "skiff")]
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: Self.formEncoded(fields)))
        } else {
            request = HTTPClientRequest(url: realm + (realm.contains("?") ? "&" : "?") + Self.formEncoded(fields))
            if let basic = credentials?.basicHeader { request.headers.add(name: "Authorization", value: basic) }
        }
        request.tlsConfiguration = tls
        do {
            let response = try await http.execute(request, timeout: .seconds(timeouts.connect + timeouts.read))
            guard response.status == .ok else {
                throw ImageError.registry(.unauthorized("\(reference.repository): the token service answered \(response.status.code)"))
            }
            let body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            guard let token = try JSONDecoder().decode(TokenResponse.self, from: Data(body)).value else {
                throw ImageError.registry(.unauthorized("\(reference.repository): the token service sent no token"))
            }
            return token
        } catch let error as ImageError {
            throw error
        } catch {
            throw .registry(.transport("token from \(realm): \(error)"))
        }
    }

    /// The endpoint's own trust settings; nil means the client's defaults (system roots).
    func tlsConfiguration(_ endpoint: RegistryEndpoint) throws(ImageError) -> TLSConfiguration? {
        guard endpoint.scheme == "https", endpoint.skipVerify || !endpoint.caFiles.isEmpty else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if endpoint.skipVerify { tls.certificateVerification = .none }
        var roots: [NIOSSLCertificate] = []
        for file in endpoint.caFiles {
            do { roots += try NIOSSLCertificate.fromPEMFile(file) } catch {
                throw .registry(.configuration("\(endpoint.host): ca \(file): \(error)"))
            }
        }
        if !roots.isEmpty { tls.additionalTrustRoots = [.certificates(roots)] }
        return tls
    }

    static func formEncoded(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0)=\(percentEncoded($0.1))" }.joined(separator: "&")
    }
}
