import FoundationEssentials
import LinuxKit

/// Credentials from a docker-style `config.json` (`{"auths": {"<registry>": {"auth": …}}}`), for
/// pulls whose request brings none. The file is read at each lookup, so an operator's edit takes
/// effect without a restart; lookups happen only when a registry asks for credentials.
public struct DockerAuthFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The entry for `host` (an endpoint such as a mirror), or else for `domain` (the image's
    /// registry, when `host` serves it).
    public func credentials(host: String, domain: String?) throws(ImageError) -> RegistryCredentials? {
        let entries = try load()
        return entries[Self.normalize(host)] ?? domain.flatMap { entries[Self.normalize($0)] }
    }

    struct Document: Decodable {
        var auths: [String: Entry]?
    }

    struct Entry: Decodable {
        var auth: String?
        var username: String?
        var password: String?
        var identitytoken: String?
        var registrytoken: String?
    }

    func load() throws(ImageError) -> [String: RegistryCredentials] {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path, limit: 4 << 20) } catch {
            throw .registry(.configuration("auth file \(path): \(error)"))
        }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: Data(bytes)) } catch {
            throw .registry(.configuration("auth file \(path) is not a docker config.json: \(error)"))
        }
        var out: [String: RegistryCredentials] = [:]
        for (key, entry) in document.auths ?? [:] {
            var credentials = RegistryCredentials()
            if let auth = entry.auth, !auth.isEmpty {
                do { credentials = try RegistryCredentials(auth: auth) } catch {
                    throw .registry(.configuration("auth file \(path): entry '\(key)': \(error)"))
                }
            }
            if let v = entry.username, !v.isEmpty { credentials.username = v }
            if let v = entry.password, !v.isEmpty { credentials.password = v }
            if let v = entry.identitytoken, !v.isEmpty { credentials.identityToken = v }
            if let v = entry.registrytoken, !v.isEmpty { credentials.registryToken = v }
            out[Self.normalize(key)] = credentials
        }
        return out
    }

    /// Keys are written as hosts or as URLs (`https://index.docker.io/v1/`); Docker Hub has
    /// several names.
    static func normalize(_ key: String) -> String {
        let host = splitScheme(key).rest.prefix { $0 != "/" }
        let name = host.lowercased()
        return ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(name) ? ImageReference.defaultDomain : name
    }
}
