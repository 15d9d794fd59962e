import CRIAPI
import Foundation
import GRPCCore
import ImageFixtures
import Testing

/// The ImageService RPCs on a live skiffd, pulling from a private registry.
@Suite(.serialized, .enabled(if: getuid() == 0, "unpacking layers sets owners and device nodes"))
struct ImageServiceTests {
    func spec(_ image: String) -> Runtime_V1_ImageSpec { .with { $0.image = image } }

    @Test func pullListStatusAndRemove() async throws {
        let registry = try await TestRegistry.start()
        let daemon = try await DaemonHarness()
        let busybox = "\(registry.host)/busybox"
        try await daemon.withClient { cri in
            let pulled = try await cri.image.pullImage(.with { $0.image = spec(busybox) }, options: cri.options)
            #expect(pulled.imageRef == TestImages.digest("busybox", "config"))
            _ = try await cri.image.pullImage(.with { $0.image = spec("\(registry.host)/withuser:latest") }, options: cri.options)

            let list = try await cri.image.listImages(Runtime_V1_ListImagesRequest(), options: cri.options)
            #expect(list.images.count == 2)
            let image = list.images.first { $0.id == pulled.imageRef }
            #expect(image?.repoTags == ["\(busybox):latest"])
            #expect(image?.repoDigests == ["\(busybox)@\(TestImages.digest("busybox", "manifest"))"])
            #expect((image?.size ?? 0) > 500_000, "busybox-static is about 1 MB compressed")
            let filtered = try await cri.image.listImages(.with { $0.filter.image = spec(busybox) }, options: cri.options)
            #expect(filtered.images.map(\.id) == [pulled.imageRef])

            let user = try await cri.image.imageStatus(.with { $0.image = spec("\(registry.host)/withuser"); $0.verbose = true }, options: cri.options)
            #expect(user.image.uid.value == 1000)
            #expect(user.info["info"]?.contains(TestImages.digest("withuser", "manifest")) == true)
            let absent = try await cri.image.imageStatus(.with { $0.image = spec("\(registry.host)/nosuch") }, options: cri.options)
            #expect(!absent.hasImage, "an absent image is an empty answer, not an error")

            _ = try await cri.image.removeImage(.with { $0.image = spec(pulled.imageRef) }, options: cri.options)
            _ = try await cri.image.removeImage(.with { $0.image = spec(pulled.imageRef) }, options: cri.options)
            let gone = try await cri.image.imageStatus(.with { $0.image = spec(busybox) }, options: cri.options)
            #expect(!gone.hasImage)
        }
    }

    @Test func errorsCarryTheirCodes() async throws {
        let registry = try await TestRegistry.start(auth: "htpasswd")
        let daemon = try await DaemonHarness()
        try await daemon.withClient { cri in
            func code(_ request: Runtime_V1_PullImageRequest) async -> RPCError.Code? {
                do {
                    _ = try await cri.image.pullImage(request, options: cri.options)
                    return nil
                } catch let error as RPCError {
                    return error.code
                } catch {
                    return .unknown
                }
            }
            #expect(await code(.with { $0.image = spec("Not/Lowercase") }) == .invalidArgument)
            #expect(await code(.with { $0.image = spec("\(registry.host)/busybox") }) == .unauthenticated)
            #expect(await code(.with { $0.image = spec("\(registry.host)/nosuch"); $0.auth.username = "skiff"; $0.auth.password = "secret" }) == .notFound)
            #expect(await code(.with { $0.image = spec("\(registry.host)/busybox"); $0.auth.auth = Data("skiff:secret".utf8).base64EncodedString() }) == nil)
            let auth = Runtime_V1_AuthConfig.with { $0.username = "skiff"; $0.password = "secret" }
            #expect(await code(.with { $0.image = spec("\(registry.host)/multiarch"); $0.auth = auth
                                       $0.image.annotations["io.skiff.image.platform"] = "linux/s390x" }) == .notFound)
            #expect(await code(.with { $0.image = spec("\(registry.host)/multiarch"); $0.auth = auth
                                       $0.image.annotations["io.skiff.image.platform"] = "Linux" }) == .invalidArgument)
            #expect(await code(.with { $0.image = spec("\(registry.host)/multiarch"); $0.auth = auth
                                       $0.image.annotations["io.skiff.image.platform"] = "linux/arm/v7" }) == nil)
        }
    }
}

/// Registry settings from skiffd's configuration: hosts.toml mirrors and the auth file.
@Suite(.serialized, .enabled(if: getuid() == 0, "unpacking layers sets owners and device nodes"))
struct RegistryConfigurationTests {
    @Test func aMirrorAndTheAuthFileComeFromTheDaemonConfig() async throws {
        let registry = try await TestRegistry.start(auth: "htpasswd")
        let etc = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-etc-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: etc) }
        try FileManager.default.createDirectory(atPath: etc + "/certs.d/mirrored.invalid", withIntermediateDirectories: true)
        try "server = \"http://127.0.0.1:9\"\n[host.\"http://\(registry.host)\"]\n"
            .write(toFile: etc + "/certs.d/mirrored.invalid/hosts.toml", atomically: true, encoding: .utf8)
        try "{\"auths\": {\"\(registry.host)\": {\"username\": \"skiff\", \"password\": \"secret\"}}}"
            .write(toFile: etc + "/auth.json", atomically: true, encoding: .utf8)
        let daemon = try await DaemonHarness(config: "[images]\nregistry_config_path = \"\(etc)/certs.d\"\nauth_file = \"\(etc)/auth.json\"\n")
        try await daemon.withClient { cri in
            let pulled = try await cri.image.pullImage(.with { $0.image.image = "mirrored.invalid/busybox" }, options: cri.options)
            #expect(pulled.imageRef == TestImages.digest("busybox", "config"))
            let listed = try await cri.image.listImages(Runtime_V1_ListImagesRequest(), options: cri.options)
            #expect(listed.images.first?.repoTags == ["mirrored.invalid/busybox:latest"])
        }
    }
}
