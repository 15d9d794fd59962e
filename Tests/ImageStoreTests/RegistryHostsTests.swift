import Foundation
@testable import ImageStore
import OCI
import Testing

/// hosts.toml parsing and endpoint order, and the docker auth file: logic only (the pulls through
/// mirrors, TLS and auth files against a real registry are in RegistryEndpointPullTests).
struct RegistryHostsTests {
    func certsDir(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-certs-\(UUID().uuidString.prefix(8))").path
        for (path, text) in files {
            let file = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func withoutConfigurationTheRegistryItselfIsUsed() throws {
        let hosts = RegistryHosts(configDir: try certsDir([:]))
        #expect(try hosts.endpoints(for: "docker.io") == [RegistryEndpoint(scheme: "https", host: "registry-1.docker.io", isMirror: false)])
        #expect(try hosts.endpoints(for: "127.0.0.1:5000") == [RegistryEndpoint(scheme: "http", host: "127.0.0.1:5000", isMirror: false)])
        #expect(try hosts.endpoints(for: "quay.io").first?.url(repository: "a/b", "manifests/v1", namespace: "quay.io")
            == "https://quay.io/v2/a/b/manifests/v1")
    }

    @Test func mirrorsComeFirstInFileOrderThenTheServer() throws {
        let dir = try certsDir(["docker.io/hosts.toml": """
            server = "https://registry-1.docker.io"

            [host."http://10.0.0.1:5000"]
              capabilities = ["pull", "resolve"]
              header = { "X-Tenant" = "blue", "X-Trace" = ["a", "b"] }

            [host."https://mirror.example/custom/v2"]
              capabilities = ["pull"]
              ca = "mirror-ca.pem"
              skip_verify = false

            [host."https://proxy.example/api"]
              override_path = true
            """])
        let endpoints = try RegistryHosts(configDir: dir).endpoints(for: "docker.io")
        #expect(endpoints.map(\.host) == ["10.0.0.1:5000", "mirror.example", "proxy.example", "registry-1.docker.io"])
        #expect(endpoints.map(\.isMirror) == [true, true, true, false])
        #expect(endpoints[0].capabilities == [.pull, .resolve])
        #expect(endpoints[0].headers.map { "\($0.name)=\($0.value)" } == ["X-Tenant=blue", "X-Trace=a", "X-Trace=b"])
        #expect(endpoints[1].caFiles == [dir + "/docker.io/mirror-ca.pem"])
        #expect(endpoints[2].capabilities == [.pull, .resolve, .push])
        // /v2 is appended unless the path ends in it or override_path says the path is the API root.
        #expect(endpoints[0].url(repository: "library/busybox", "manifests/latest", namespace: "docker.io")
            == "http://10.0.0.1:5000/v2/library/busybox/manifests/latest?ns=docker.io")
        #expect(endpoints[1].url(repository: "library/busybox", "blobs/sha256:ab", namespace: "docker.io")
            == "https://mirror.example/custom/v2/library/busybox/blobs/sha256:ab?ns=docker.io")
        #expect(endpoints[2].apiRoot == "/api")
        #expect(endpoints[3].url(repository: "library/busybox", "manifests/latest", namespace: "docker.io")
            == "https://registry-1.docker.io/v2/library/busybox/manifests/latest")
    }

    @Test func theDefaultDirectoryCoversHostsWithoutTheirOwn() throws {
        let dir = try certsDir(["_default/hosts.toml": "[host.\"http://127.0.0.1:6000\"]\n",
                                "quay.io/hosts.toml": "server = \"https://quay.io\"\nskip_verify = true\n"])
        let hosts = RegistryHosts(configDir: dir)
        #expect(try hosts.endpoints(for: "ghcr.io").map(\.host) == ["127.0.0.1:6000", "ghcr.io"])
        let quay = try hosts.endpoints(for: "quay.io")
        #expect(quay.count == 1 && quay[0].skipVerify && !quay[0].isMirror)
    }

    @Test(arguments: [
        ("capabilities = [\"pull\", \"fly\"]", "hosts.toml:1: capabilities: each must be one of pull, resolve, push"),
        ("skip_verify = \"yes\"", "hosts.toml:1: skip_verify: has the wrong type (string)"),
        ("mirrors = 1", "hosts.toml:1: unknown key 'mirrors'"),
        ("server = \"ftp://x\"", "hosts.toml:1: 'ftp://x': scheme must be http or https"),
        ("client = \"c.pem\"", "hosts.toml:1: client: client certificates are not supported yet"),
        ("header = { \"Bad Name\" = \"v\" }", "hosts.toml:1: header: 'Bad Name' is not a valid header"),
        ("server = ", "hosts.toml:1:"),
    ])
    func aBadFileIsRefusedNamingFileLineAndKey(text: String, message: String) throws {
        let dir = try certsDir(["r.example/hosts.toml": text + "\n"])
        #expect { _ = try RegistryHosts(configDir: dir).endpoints(for: "r.example") } throws: { error in
            guard case .registry(.configuration(let m)) = error as? ImageError else { return false }
            return m.contains("r.example/" + message)
        }
    }

    @Test func theAuthFileIsLookedUpByEndpointThenRegistry() throws {
        let dir = try certsDir(["config.json": """
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "\(Data("hub:pw".utf8).base64EncodedString())"},
              "mirror.example:5000": {"username": "m", "password": "mp"},
              "ghcr.io": {"identitytoken": "refresh-me"}
            }}
            """])
        let file = DockerAuthFile(path: dir + "/config.json")
        #expect(try file.credentials(host: "registry-1.docker.io", domain: "docker.io") == RegistryCredentials(username: "hub", password: "pw"))
        #expect(try file.credentials(host: "mirror.example:5000", domain: "docker.io") == RegistryCredentials(username: "m", password: "mp"))
        #expect(try file.credentials(host: "ghcr.io", domain: "ghcr.io")?.identityToken == "refresh-me")
        #expect(try file.credentials(host: "quay.io", domain: "quay.io") == nil)
        #expect { _ = try DockerAuthFile(path: dir + "/missing.json").credentials(host: "x", domain: "x") } throws: { error in
            "\(error)".contains("missing.json")
        }
    }

    @Test func aPullsCredentialsGoToItsRegistryAndNotToMirrors() throws {
        let reference = try ImageReference(parsing: "private.example/app")
        let upstream = RegistryEndpoint(scheme: "https", host: "private.example", isMirror: false)
        let mirror = RegistryEndpoint(scheme: "https", host: "mirror.example", isMirror: true)
        var credentials = RegistryCredentials(username: "u", password: "p")
        #expect(credentials.apply(to: upstream, of: reference))
        #expect(!credentials.apply(to: mirror, of: reference))
        credentials.serverAddress = "https://mirror.example/v1/"
        #expect(credentials.apply(to: mirror, of: reference))
        #expect(!credentials.apply(to: upstream, of: reference))
        credentials.serverAddress = "private.example"
        #expect(credentials.apply(to: upstream, of: reference) && !credentials.apply(to: mirror, of: reference))
    }

    @Test func onlyLoopbackAddressesArePlainHTTPByDefault() {
        for host in ["localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"] { #expect(RegistryHosts.isLoopback(host), "\(host)") }
        for host in ["127.example.com", "127.0.0.1.nip.io", "localhost.example", "10.0.0.1"] { #expect(!RegistryHosts.isLoopback(host), "\(host)") }
    }

    @Test func platformsParseAndPrintAsFlagsWriteThem() throws {
        #expect(try Platform(parsing: "linux/arm/v7") == Platform(architecture: "arm", os: "linux", variant: "v7"))
        #expect(try Platform(parsing: "linux/amd64").description == "linux/amd64")
        for bad in ["linux", "linux/", "Linux/amd64", "linux/amd64/v1/x", "linux/../x"] {
            #expect(throws: ImageSpecError.self, "\(bad)") { _ = try Platform(parsing: bad) }
        }
    }
}
