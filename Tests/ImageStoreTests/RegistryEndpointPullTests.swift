import Foundation
import ImageFixtures
import ImageStore
import OCI
import Testing

/// Pulls through what an operator configures, against real registries: mirrors and fallback from
/// hosts.toml, TLS with a private CA, an auth file, OAuth2 identity tokens, and downloads that
/// continue where an interrupted one stopped.
@Suite(.serialized) struct RegistryEndpointPullTests {
    let amd64 = Platform(architecture: "amd64", os: "linux")

    func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("skiff-\(name)-\(UUID().uuidString.prefix(8))").path
    }

    func certsDir(_ files: [String: String]) throws -> String {
        let dir = scratch("certs")
        for (path, text) in files {
            try FileManager.default.createDirectory(atPath: dir + "/" + path.split(separator: "/")[0], withIntermediateDirectories: true)
            try text.write(toFile: dir + "/" + path, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func aMirrorServesARegistryThatDoesNotExistAndADeadMirrorFallsThrough() async throws {
        let registry = try await TestRegistry.start()
        // Port 9 (discard) has nothing listening on loopback here: the first mirror is dead.
        let dir = try certsDir(["upstream.invalid/hosts.toml": """
            server = "https://upstream.invalid"
            [host."http://127.0.0.1:9"]
            [host."http://\(registry.host)"]
              capabilities = ["pull", "resolve"]
            """])
        let client = RegistryClient(hosts: RegistryHosts(configDir: dir))
        defer { Task { await client.shutdown() } }
        let resolved = try await client.manifest(for: try ImageReference(parsing: "upstream.invalid/busybox"), platform: amd64, credentials: nil)
        #expect(resolved.manifest.config.digest == TestImages.digest("busybox", "config"))
        let log = try String(contentsOfFile: registry.logPath, encoding: .utf8)
        #expect(log.contains("ns=upstream.invalid"))
    }

    @Test func aMirrorWithoutResolveIsAskedOnlyByDigest() async throws {
        let registry = try await TestRegistry.start()
        let dir = try certsDir(["upstream.invalid/hosts.toml": """
            server = "https://upstream.invalid"
            [host."http://\(registry.host)"]
              capabilities = ["pull"]
            """])
        let client = RegistryClient(hosts: RegistryHosts(configDir: dir))
        defer { Task { await client.shutdown() } }
        // The tag can only be resolved upstream, which does not exist.
        await #expect { _ = try await client.manifest(for: try ImageReference(parsing: "upstream.invalid/busybox"), platform: amd64, credentials: nil) } throws: { error in
            "\(error)".contains("upstream.invalid")
        }
        let pinned = try ImageReference(parsing: "upstream.invalid/busybox@\(TestImages.digest("busybox", "manifest"))")
        #expect(try await client.manifest(for: pinned, platform: amd64, credentials: nil).manifest.config.digest == TestImages.digest("busybox", "config"))
    }

    @Test func tlsNeedsThePrivateCAOrSkipVerify() async throws {
        let registry = try await TestRegistry.start(tls: true)
        let reference = try ImageReference(parsing: "\(registry.host)/busybox")
        for (settings, works) in [("", false), ("ca = \"\(registry.caPath)\"", true), ("skip_verify = true", true)] {
            let dir = try certsDir(["\(registry.host)/hosts.toml": "server = \"https://\(registry.host)\"\n\(settings)\n"])
            let client = RegistryClient(hosts: RegistryHosts(configDir: dir))
            let store = ContentStore(root: scratch("tls-store"))
            do {
                let resolved = try await client.manifest(for: reference, platform: amd64, credentials: nil)
                try await client.fetchBlob(reference, resolved.manifest.layers[0], into: store, credentials: nil)
                #expect(works, "\(settings)")
                #expect(store.contains(resolved.manifest.layers[0]))
            } catch {
                #expect(!works, "\(settings): \(error)")
                #expect("\(error)".contains("registry unreachable"), "\(error)")
            }
            await client.shutdown()
        }
        // Over TLS the client and Go's server agree on HTTP/2 (ALPN); the access log says which.
        let log = try String(contentsOfFile: registry.logPath, encoding: .utf8)
        #expect(log.split(separator: "\n").contains { $0.contains("\"GET /v2/busybox/") && $0.contains("HTTP/2.0\"") }, "\(log.suffix(2000))")
    }

    @Test func theAuthFileGivesCredentialsWhenThePullHasNone() async throws {
        let registry = try await TestRegistry.start(auth: "htpasswd")
        let dir = try certsDir(["auth/config.json": """
            {"auths": {"\(registry.host)": {"auth": "\(Data("skiff:secret".utf8).base64EncodedString())"}}}
            """])
        let client = RegistryClient(authFile: DockerAuthFile(path: dir + "/auth/config.json"))
        defer { Task { await client.shutdown() } }
        let resolved = try await client.manifest(for: try ImageReference(parsing: "\(registry.host)/busybox"), platform: amd64, credentials: nil)
        #expect(resolved.manifest.config.digest == TestImages.digest("busybox", "config"))
        // Credentials in the request win over the file.
        await #expect { _ = try await client.manifest(for: try ImageReference(parsing: "\(registry.host)/layered"), platform: amd64,
                                                       credentials: RegistryCredentials(username: "skiff", password: "wrong")) } throws: { error in
            "\(error)".hasPrefix("unauthorized")
        }
    }

    @Test func anIdentityTokenIsTradedForAnAccessToken() async throws {
        let registry = try await TestRegistry.start(auth: "token")
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let reference = try ImageReference(parsing: "\(registry.host)/busybox")
        let resolved = try await client.manifest(for: reference, platform: amd64, credentials: RegistryCredentials(identityToken: "skiff-refresh-token"))
        #expect(resolved.manifest.config.digest == TestImages.digest("busybox", "config"))
        let other = RegistryClient()
        defer { Task { await other.shutdown() } }
        await #expect { _ = try await other.manifest(for: reference, platform: amd64, credentials: RegistryCredentials(identityToken: "stolen")) } throws: { error in
            "\(error)".contains("the token service answered 401")
        }
    }

    @Test func anInterruptedDownloadContinuesWithARangeRequest() async throws {
        let registry = try await TestRegistry.start()
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let reference = try ImageReference(parsing: "\(registry.host)/busybox")
        let layer = try await client.manifest(for: reference, platform: amd64, credentials: nil).manifest.layers[0]
        let whole = ContentStore(root: scratch("whole"))
        try await client.fetchBlob(reference, layer, into: whole, credentials: nil)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole.path(of: layer.digest)))

        // What a pull that died after half the blob leaves: the file of a process that is gone.
        for (name, prefix) in [("good", bytes.prefix(bytes.count / 2)), ("corrupt", Data(repeating: 0x55, count: bytes.count / 2))] {
            let store = ContentStore(root: scratch("resume-\(name)"))
            try FileManager.default.createDirectory(atPath: store.root + "/ingest", withIntermediateDirectories: true)
            try prefix.write(to: URL(fileURLWithPath: store.root + "/ingest/\(Digest.hex(layer.digest)).2147483646.1"))
            try await client.fetchBlob(reference, layer, into: store, credentials: nil)
            #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: layer.digest))) == bytes, "\(name)")
            #expect(store.partials().isEmpty, "\(name)")
        }
        // Every byte already there (a pull that died in its commit): nothing is asked for.
        let complete = ContentStore(root: scratch("resume-complete"))
        try FileManager.default.createDirectory(atPath: complete.root + "/ingest", withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: complete.root + "/ingest/\(Digest.hex(layer.digest)).partial"))
        try await client.fetchBlob(reference, layer, into: complete, credentials: nil)
        #expect(complete.contains(layer))

        // A dead mirror first: its failure keeps the partial for the server to continue.
        let dir = try certsDir(["\(registry.host)/hosts.toml": "server = \"http://\(registry.host)\"\n[host.\"http://127.0.0.1:9\"]\n"])
        let mirrored = RegistryClient(hosts: RegistryHosts(configDir: dir))
        defer { Task { await mirrored.shutdown() } }
        let behindMirror = ContentStore(root: scratch("resume-mirror"))
        try FileManager.default.createDirectory(atPath: behindMirror.root + "/ingest", withIntermediateDirectories: true)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: behindMirror.root + "/ingest/\(Digest.hex(layer.digest)).partial"))
        try await mirrored.fetchBlob(reference, layer, into: behindMirror, credentials: nil)
        #expect(behindMirror.contains(layer))

        // The registry answered the continued downloads with 206 Partial Content.
        let log = try String(contentsOfFile: registry.logPath, encoding: .utf8)
        #expect(log.split(separator: "\n").filter { $0.contains(Digest.hex(layer.digest)) && $0.contains("\" 206 ") }.count == 3)
    }
}
