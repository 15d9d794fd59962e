import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import LinuxKit
import Testing

/// Image volumes (a mount whose source is an image) against a real skiffd: the image's merged
/// layers, read-only, executable, a sub-path of it, and nothing left mounted after removal.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct ImageVolumeTests {
    @Test func anImageIsMountedReadOnlyWithItsLayersMergedAndASubPath() async throws {
        let node = try await ContainerTests.Node()
        let layered = node.registry.host + "/layered:latest"
        let layeredID = try await node.daemon.withClient { try await $0.image.pullImage(.with { $0.image.image = layered }, options: $0.options).imageRef }
        func create(_ mounts: [Runtime_V1_Mount]) async throws -> String {
            let (pod, image) = (node.pod, node.image)
            return try await node.daemon.withClient {
                try await $0.runtime.createContainer(.with {
                    $0.podSandboxID = pod
                    $0.config = .with {
                        $0.metadata = .with { $0.name = "vol-\(UUID().uuidString.prefix(6))" }
                        $0.image = .with { $0.image = image }
                        $0.command = ["/bin/sleep", "600"]
                        $0.mounts = mounts
                    }
                }, options: $0.options).containerID
            }
        }
        func volume(_ path: String, subPath: String = "", readonly: Bool = true) -> Runtime_V1_Mount {
            .with { $0.containerPath = path; $0.readonly = readonly; $0.image = .with { $0.image = layered }; $0.imageSubPath = subPath }
        }
        let id = try await create([volume("/mnt/vol"), volume("/mnt/sub", subPath: "data/dir")])
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        func exec(_ cmd: [String]) async throws -> Runtime_V1_ExecSyncResponse {
            try await node.daemon.withClient { try await $0.runtime.execSync(.with { $0.containerID = id; $0.cmd = cmd; $0.timeout = 10 }, options: $0.options) }
        }
        // The three layers merged: layer 3's whiteouts hide /data/b and /data/dir/x.
        #expect(String(decoding: try await exec(["/bin/cat", "/mnt/vol/data/a", "/mnt/vol/data/dir/y"]).stdout, as: UTF8.self)
                == "file a\ny, the only file left in /data/dir\n")
        #expect(try await exec(["/bin/ls", "/mnt/vol/data/b"]).exitCode != 0)
        #expect(String(decoding: try await exec(["/bin/ls", "/mnt/sub"]).stdout, as: UTF8.self) == "y\n")
        // Read-only, and not noexec: the image's own busybox runs from the volume.
        let write = try await exec(["/bin/sh", "-c", "echo x > /mnt/vol/new"])
        #expect(write.exitCode != 0 && String(decoding: write.stderr, as: UTF8.self).contains("Read-only"), "\(write)")
        #expect(String(decoding: try await exec(["/mnt/vol/bin/busybox", "echo", "ran"]).stdout, as: UTF8.self) == "ran\n")
        // The status names the image and the id it resolved to.
        let status = try await node.status(id)
        let reported = status.mounts.filter(\.hasImage)
        #expect(reported.map(\.containerPath) == ["/mnt/vol", "/mnt/sub"] && reported.allSatisfy { $0.image.image == layered && $0.image.imageRef == layeredID && $0.readonly })
        // Refused: a writable image volume, a sub-path the image lacks or that climbs out, an image not pulled.
        let writable = volume("/v", readonly: false)
        #expect(await node.call { _ = try await $0.runtime.createContainer(.with {
            $0.podSandboxID = node.pod; $0.config = .with { $0.metadata.name = "rw"; $0.image.image = node.image; $0.mounts = [writable] }
        }, options: $0.options) } == .invalidArgument)
        await #expect(throws: RPCError.self) { _ = try await create([volume("/v", subPath: "no/such/dir")]) }
        await #expect(throws: RPCError.self) { _ = try await create([volume("/v", subPath: "../../etc")]) }
        var missingImage = volume("/v")
        missingImage.image.image = node.registry.host + "/never-pulled:latest"
        let missing = missingImage
        #expect(await node.call { _ = try await $0.runtime.createContainer(.with {
            $0.podSandboxID = node.pod; $0.config = .with { $0.metadata.name = "missing"; $0.image.image = node.image; $0.mounts = [missing] }
        }, options: $0.options) } == .notFound)
        // Removed: no image volume stays mounted (refused creates left none either).
        _ = try await node.daemon.withClient { try await $0.runtime.stopContainer(.with { $0.containerID = id; $0.timeout = 0 }, options: $0.options) }
        _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
        let left = FileSystem.mountInfo().split(separator: "\n").filter { $0.contains(node.daemon.dir) && $0.contains("image-volumes") }
        #expect(left.isEmpty, "\(left)")
    }
}
