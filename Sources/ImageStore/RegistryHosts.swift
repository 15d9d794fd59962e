#if canImport(Glibc)
import Glibc
#endif
import LinuxKit
import SkiffConfig

/// One place requests for a registry may go: a mirror or the upstream server, with its TLS
/// settings and extra headers. Built from containerd's `hosts.toml` layout, which is what
/// operators already write for their nodes.
public struct RegistryEndpoint: Equatable, Sendable {
    public enum Capability: String, Sendable, CaseIterable {
        /// Manifests and blobs by digest.
        case pull
        /// Tags to digests: a mirror without it is only asked for content by digest.
        case resolve
        case push
    }

    public var scheme: String
    /// `host[:port]`.
    public var host: String
    /// The API root the repository path is appended to: `/v2`, or the path as written with
    /// `override_path`.
    public var apiRoot: String
    public var capabilities: Set<Capability>
    /// PEM files trusted in addition to the system roots.
    public var caFiles: [String] = []
    public var skipVerify = false
    /// Sent with every request to this endpoint, in order.
    public var headers: [(name: String, value: String)] = []
    /// False for the upstream server itself.
    public var isMirror: Bool

    public init(scheme: String, host: String, apiRoot: String = "/v2", capabilities: Set<Capability> = [.pull, .resolve, .push], isMirror: Bool) {
        self.scheme = scheme
        self.host = host
        self.apiRoot = apiRoot
        self.capabilities = capabilities
        self.isMirror = isMirror
    }

    /// `scheme://host/<apiRoot>/<repository>/<rest>`; a mirror is told which registry the
    /// repository belongs to with `?ns=` (as containerd does, and as registries that mirror
    /// several upstreams expect).
    public func url(repository: String, _ rest: String, namespace: String) -> String {
        let base = scheme + "://" + host + apiRoot + "/" + repository + "/" + rest
        return isMirror ? base + "?ns=" + RegistryClient.percentEncoded(namespace) : base
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.scheme == b.scheme && a.host == b.host && a.apiRoot == b.apiRoot && a.capabilities == b.capabilities
            && a.caFiles == b.caFiles && a.skipVerify == b.skipVerify && a.isMirror == b.isMirror
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

/// Finds the endpoints of a registry: `<dir>/<host>/hosts.toml`, else `<dir>/_default/hosts.toml`,
/// else the registry itself (HTTPS; plain HTTP on loopback). Mirrors come first in file order,
/// then the server, so a dead mirror falls back to the upstream.
public struct RegistryHosts: Sendable {
    /// The `certs.d` directory; empty means no per-host configuration.
    public let configDir: String

    public init(configDir: String = "") { self.configDir = configDir }

    public func endpoints(for domain: String) throws(ImageError) -> [RegistryEndpoint] {
        guard !configDir.isEmpty, !domain.contains("/"), !domain.hasPrefix(".") else { return [Self.upstream(domain)] }
        for dir in [domain, "_default"] {
            let file = configDir + "/" + dir + "/hosts.toml"
            guard FileSystem.exists(file) else { continue }
            let bytes: [UInt8]
            do { bytes = try AtomicFile.read(file, limit: 1 << 20) } catch {
                throw .registry(.configuration("\(file): \(error)"))
            }
            return try HostsFile.endpoints(text: String(decoding: bytes, as: UTF8.self), file: file, domain: domain)
        }
        return [Self.upstream(domain)]
    }

    /// The registry itself, with nothing configured: Docker Hub's API host for `docker.io`.
    static func upstream(_ domain: String) -> RegistryEndpoint {
        let host = domain == ImageReference.defaultDomain ? "registry-1.docker.io" : domain
        return RegistryEndpoint(scheme: isLoopback(host) ? "http" : "https", host: host, isMirror: false)
    }

    /// Loopback registries speak plain HTTP unless a hosts.toml says otherwise (as containerd).
    static func isLoopback(_ host: String) -> Bool {
        let name = host.hasPrefix("[") ? String(host[..<(host.firstIndex(of: "]").map { host.index(after: $0) } ?? host.endIndex)])
                                       : String(host.split(separator: ":").first ?? "")
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        let ipv4Loopback = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return name == "localhost" || name == "[::1]" || ipv4Loopback
    }
}

/// The `hosts.toml` format: top-level `server` plus its settings, and `[host."<url>"]` tables for
/// mirrors, each with `capabilities`, `ca`, `skip_verify`, `header` and `override_path`.
enum HostsFile {
    static let hostKeys: Set<String> = ["capabilities", "ca", "client", "skip_verify", "header", "override_path"]

    static func endpoints(text: String, file: String, domain: String) throws(ImageError) -> [RegistryEndpoint] {
        let table: TOMLTable
        do { table = try TOMLParser.parse(text) } catch { throw .registry(.configuration("\(file):\(error.line): \(error.message)")) }
        let directory = String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
        var mirrors: [RegistryEndpoint] = []
        for key in table.keys where key != "server" && !hostKeys.contains(key) {
            guard key == "host", case .table(let hosts)? = table[key]?.value else {
                throw .registry(.configuration("\(file):\(table[key]?.line ?? 0): unknown key '\(key)'"))
            }
            for url in hosts.keys {
                guard let entry = hosts[url], case .table(let settings) = entry.value else {
                    throw .registry(.configuration("\(file):\(hosts[url]?.line ?? 0): host \"\(url)\" must be a table"))
                }
                mirrors.append(try endpoint(url: url, settings: settings, isMirror: true, file: file, line: entry.line, directory: directory))
            }
        }
        var server = RegistryHosts.upstream(domain)
        if let entry = table["server"] {
            guard case .string(let url) = entry.value else { throw .registry(.configuration("\(file):\(entry.line): server must be a string")) }
            server = try endpoint(url: url, settings: table, isMirror: false, file: file, line: entry.line, directory: directory)
        } else {
            try apply(table, to: &server, file: file, directory: directory)
        }
        return mirrors + [server]
    }

    static func endpoint(url: String, settings: TOMLTable, isMirror: Bool, file: String, line: Int, directory: String) throws(ImageError) -> RegistryEndpoint {
        let (written, rest) = splitScheme(url)
        let scheme = written?.lowercased() ?? "https"
        guard scheme == "http" || scheme == "https" else { throw .registry(.configuration("\(file):\(line): '\(url)': scheme must be http or https")) }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let host = String(rest[..<slash])
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-.:[]".contains($0) }) else {
            throw .registry(.configuration("\(file):\(line): '\(url)' has no valid host"))
        }
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        var endpoint = RegistryEndpoint(scheme: scheme, host: host, apiRoot: path, isMirror: isMirror)
        try apply(settings, to: &endpoint, file: file, directory: directory)
        return endpoint
    }

    /// The per-host keys, on top of an endpoint whose `apiRoot` is still the URL's path.
    static func apply(_ settings: TOMLTable, to endpoint: inout RegistryEndpoint, file: String, directory: String) throws(ImageError) {
        func fail(_ key: String, _ message: String) -> ImageError {
            .registry(.configuration("\(file):\(settings[key]?.line ?? 0): \(key): \(message)"))
        }
        var overridePath = false
        for key in settings.keys where hostKeys.contains(key) {
            let value = settings[key]!.value
            switch (key, value) {
            case ("capabilities", .array(let items)):
                var capabilities: Set<RegistryEndpoint.Capability> = []
                for item in items {
                    guard case .string(let name) = item, let capability = RegistryEndpoint.Capability(rawValue: name) else {
                        throw fail(key, "each must be one of pull, resolve, push")
                    }
                    capabilities.insert(capability)
                }
                endpoint.capabilities = capabilities
            case ("ca", .string(let path)):
                endpoint.caFiles = [absolute(path, directory)]
            case ("ca", .array(let items)):
                endpoint.caFiles = []
                for item in items {
                    guard case .string(let path) = item else { throw fail(key, "expected strings") }
                    endpoint.caFiles.append(absolute(path, directory))
                }
            case ("client", _):
                throw fail(key, "client certificates are not supported yet")
            case ("skip_verify", .bool(let flag)):
                endpoint.skipVerify = flag
            case ("override_path", .bool(let flag)):
                overridePath = flag
            case ("header", .table(let headers)):
                endpoint.headers = []
                for name in headers.keys {
                    switch headers[name]!.value {
                    case .string(let v): endpoint.headers.append((name, v))
                    case .array(let values):
                        for case .string(let v) in values { endpoint.headers.append((name, v)) }
                    default: throw fail(key, "'\(name)' must be a string or an array of strings")
                    }
                    guard Self.isToken(name), endpoint.headers.allSatisfy({ !$0.value.contains(where: \.isNewline) }) else {
                        throw fail(key, "'\(name)' is not a valid header")
                    }
                }
            default:
                throw fail(key, "has the wrong type (\(value.typeName))")
            }
        }
        if !overridePath, !endpoint.apiRoot.hasSuffix("/v2") { endpoint.apiRoot += "/v2" }
    }

    static func absolute(_ path: String, _ directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }
}

/// `"https://host/path"` → `("https", "host/path")`; no `://` → `(nil, whole)`.
func splitScheme(_ url: String) -> (scheme: String?, rest: Substring) {
    let chars = Array(url.utf8)
    guard chars.count >= 3 else { return (nil, Substring(url)) }
    for i in 0...(chars.count - 3) where chars[i] == 0x3A && chars[i + 1] == 0x2F && chars[i + 2] == 0x2F {
        let start = url.utf8.index(url.utf8.startIndex, offsetBy: i)
        return (String(url[..<start]), url[url.utf8.index(start, offsetBy: 3)...])
    }
    return (nil, Substring(url))
}
