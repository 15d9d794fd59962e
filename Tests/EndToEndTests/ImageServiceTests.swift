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
        }
    }
}
