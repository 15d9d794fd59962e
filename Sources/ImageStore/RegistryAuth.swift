import FoundationEssentials

/// What a pull may authenticate with: CRI's `AuthConfig` fields, or a docker-config entry.
public struct RegistryCredentials: Equatable, Sendable {
    public var username: String?
    public var password: String?
    /// An OAuth2 refresh token, traded at the token endpoint for an access token.
    public var identityToken: String?
    /// A bearer token used as it is.
    public var registryToken: String?
    /// The registry these are for (CRI's `server_address`); nil means the registry the image names.
    public var serverAddress: String?

    public init(username: String? = nil, password: String? = nil, identityToken: String? = nil, registryToken: String? = nil,
                serverAddress: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken
        self.registryToken = registryToken
        self.serverAddress = serverAddress
    }

    /// Whether these may be sent to `endpoint`. A pull's credentials are the registry's: a mirror
    /// (possibly someone else's, from `_default/hosts.toml`) gets them only when `server_address`
    /// names that mirror. Mirrors authenticate with their own auth-file entries.
    public func apply(to endpoint: RegistryEndpoint, of reference: ImageReference) -> Bool {
        guard let serverAddress, !serverAddress.isEmpty else { return !endpoint.isMirror }
        let target = DockerAuthFile.normalize(serverAddress)
        return target == DockerAuthFile.normalize(endpoint.host) || (!endpoint.isMirror && target == DockerAuthFile.normalize(reference.domain))
    }

    /// From docker's `auth` field: base64 of `user:password`.
    public init(auth: String) throws(ImageError) {
        guard let data = Data(base64Encoded: auth), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else {
            throw .registry(.badCredentials("auth is not base64 of user:password"))
        }
        self.init(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }

    var basicHeader: String? {
        guard let username, let password else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge: Equatable {
    var scheme: String
    var parameters: [String: String]

    /// Parses the first challenge of the header (registries send one).
    init?(header: String) {
        let trimmed = header.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased()
            parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        parameters = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingSpaces().lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { value.append(c) }
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end]).trimmingSpaces()
                rest = rest[end...]
            }
            parameters[key] = value
        }
    }
}

/// The token endpoint's answer (`token`, or OAuth2's `access_token`).
struct TokenResponse: Decodable {
    var token: String?
    var accessToken: String?

    enum CodingKeys: String, CodingKey {
        case token
        case accessToken = "access_token"
    }

    var value: String? { token ?? accessToken }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
