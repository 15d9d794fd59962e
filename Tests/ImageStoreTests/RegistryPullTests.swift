import Foundation
import ImageFixtures
import ImageStore
import OCI
import Testing

/// RegistryClient against a real registry (Debian's docker-registry) serving the test images.
@Suite(.serialized) struct RegistryPullTests {
    let amd64 = Platform(architecture: "amd64", os: "linux")

    func scratchStore() -> ContentStore {
        ContentStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("skiff-pull-\(UUID().uuidString.prefix(8))").path)
    }

    @Test func anImageIsResolvedAndItsBlobsVerifiedIntoTheStore() async throws {
        let registry = try await TestRegistry.start()
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let store = scratchStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let reference = try ImageReference(parsing: "\(registry.host)/busybox")
        let resolved = try await client.manifest(for: reference, platform: amd64, credentials: nil)
        #expect(resolved.manifest.config.digest == TestImages.digest("busybox", "config"))
        #expect(resolved.resolvedDigest == TestImages.digest("busybox", "manifest"))
        for blob in [resolved.manifest.config] + resolved.manifest.layers {
            try await client.fetchBlob(reference, blob, into: store, credentials: nil)
            #expect(store.contains(blob))
        }
        let config = try JSONDecoder().decode(ImageConfiguration.self, from: Data(try store.read(resolved.manifest.config.digest)))
        #expect(config.config?.cmd == ["/bin/sh"])

        // By digest, the same manifest; Docker schema 2 media types too.
        let pinned = try ImageReference(parsing: "\(registry.host)/busybox@\(TestImages.digest("busybox", "manifest"))")
        #expect(try await client.manifest(for: pinned, platform: amd64, credentials: nil).manifest == resolved.manifest)
        let docker = try await client.manifest(for: try ImageReference(parsing: "\(registry.host)/docker-schema2"), platform: amd64, credentials: nil)
        #expect(docker.descriptor.mediaType == MediaType.dockerManifest)
        #expect(docker.manifest.config.digest == TestImages.digest("docker-schema2", "config"))
    }

    @Test func anIndexGivesTheRequestedPlatformOrSaysWhichItHas() async throws {
        let registry = try await TestRegistry.start()
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let reference = try ImageReference(parsing: "\(registry.host)/multiarch:latest")
        let amd = try await client.manifest(for: reference, platform: amd64, credentials: nil)
        #expect(amd.manifest.config.digest == TestImages.digest("multiarch", "config", platform: "linux/amd64"))
        #expect(amd.resolvedDigest == TestImages.digest("multiarch", "index"))
        let arm = try await client.manifest(for: reference, platform: Platform(architecture: "arm", os: "linux", variant: "v7"), credentials: nil)
        #expect(arm.manifest.config.digest == TestImages.digest("multiarch", "config", platform: "linux/arm/v7"))
        await #expect(throws: ImageError.registry(.noMatchingPlatform(reference.description, platform: "linux/s390x",
                                                                      available: ["linux/amd64", "linux/arm64", "linux/arm/v7"]))) {
            _ = try await client.manifest(for: reference, platform: Platform(architecture: "s390x", os: "linux"), credentials: nil)
        }
        await #expect {
            _ = try await client.manifest(for: try ImageReference(parsing: "\(registry.host)/nosuch"), platform: amd64, credentials: nil)
        } throws: { error in
            if case ImageError.registry = error { true } else { false }
        }
    }

    @Test func basicAuthNeedsTheRightPassword() async throws {
        let registry = try await TestRegistry.start(auth: "htpasswd")
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let reference = try ImageReference(parsing: "\(registry.host)/busybox")
        await #expect { _ = try await client.manifest(for: reference, platform: amd64, credentials: nil) } throws: { error in
            "\(error)".contains("needs a username and password")
        }
        await #expect { _ = try await client.manifest(for: reference, platform: amd64, credentials: RegistryCredentials(username: "skiff", password: "wrong")) } throws: { error in
            "\(error)".hasPrefix("unauthorized")
        }
        let credentials = try RegistryCredentials(auth: Data("skiff:secret".utf8).base64EncodedString())
        let resolved = try await client.manifest(for: reference, platform: amd64, credentials: credentials)
        #expect(resolved.manifest.config.digest == TestImages.digest("busybox", "config"))
    }

    @Test func bearerTokensComeFromTheRealmTheRegistryNames() async throws {
        let registry = try await TestRegistry.start(auth: "token")
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let store = scratchStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let reference = try ImageReference(parsing: "\(registry.host)/layered")
        await #expect { _ = try await client.manifest(for: reference, platform: amd64, credentials: nil) } throws: { error in
            "\(error)".hasPrefix("unauthorized")
        }
        let credentials = RegistryCredentials(username: "skiff", password: "secret")
        let resolved = try await client.manifest(for: reference, platform: amd64, credentials: credentials)
        #expect(resolved.manifest.layers.count == 3)
        for blob in resolved.manifest.layers {
            try await client.fetchBlob(reference, blob, into: store, credentials: credentials)
            #expect(store.contains(blob))
        }
    }
}
