import CRIAPI
import Foundation
import GRPCCore
import LinuxKit
import Testing

/// The RPCs skiffd answers for real, called through the project's own client on a live socket.
@Suite struct RuntimeServiceTests {
    @Test func versionNamesSkiffAndCRIv1() async throws {
        let daemon = try await DaemonHarness()
        let reply = try await daemon.withClient { cri in
            try await cri.runtime.version(.with { $0.version = "v1" }, options: cri.options)
        }
        #expect(reply.runtimeName == "skiff")
        #expect(reply.runtimeApiVersion == "v1")
        #expect(reply.version == "0.1.0")
        #expect(reply.runtimeVersion.split(separator: ".").count == 3)
    }

    @Test func statusReportsNetworkNotReadyUntilACNIConfigAppears() async throws {
        let daemon = try await DaemonHarness()
        let before = try await daemon.withClient { cri in
            try await cri.runtime.status(.with { $0.verbose = true }, options: cri.options)
        }
        let conditions = Dictionary(uniqueKeysWithValues: before.status.conditions.map { ($0.type, $0) })
        #expect(conditions["RuntimeReady"]?.status == true)
        #expect(conditions["NetworkReady"]?.status == false)
        #expect(conditions["NetworkReady"]?.reason == "NetworkPluginNotReady")
        // Verbose info carries the effective configuration as JSON, flags applied.
        let config = try JSONSerialization.jsonObject(with: Data(before.info["config"]!.utf8)) as? [String: Any]
        #expect(config?["root"] as? String == daemon.root)
        #expect((config?["cni"] as? [String: Any])?["conf_dir"] as? String == daemon.cniDir)

        try #"{"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"bridge"}]}"#
            .write(toFile: daemon.cniDir + "/10-pods.conflist", atomically: true, encoding: .utf8)
        let after = try await daemon.withClient { cri in
            try await cri.runtime.status(Runtime_V1_StatusRequest(), options: cri.options)
        }
        #expect(after.status.conditions.first { $0.type == "NetworkReady" }?.status == true)
        #expect(after.info.isEmpty)
    }

    @Test(arguments: ["", "cgroupfs", "systemd"])
    func runtimeConfigReportsTheCgroupDriver(driver: String) async throws {
        let daemon = try await DaemonHarness(config: driver.isEmpty ? "" : "[runtime]\ncgroup_driver = \"\(driver)\"\n")
        let reply = try await daemon.withClient { cri in
            try await cri.runtime.runtimeConfig(Runtime_V1_RuntimeConfigRequest(), options: cri.options)
        }
        // Unset, the node decides: systemd only where PID 1 is systemd.
        let systemd = driver == "systemd" || (driver.isEmpty && FileManager.default.fileExists(atPath: "/run/systemd/system"))
        #expect(reply.linux.cgroupDriver == (systemd ? .systemd : .cgroupfs))
    }

    @Test func statusListsTheHandlersWithTheirFeatures() async throws {
        let daemon = try await DaemonHarness(config: "[runtime.handlers]\nrunc = \"/usr/sbin/runc\"\n")
        let reply = try await daemon.withClient { cri in try await cri.runtime.status(Runtime_V1_StatusRequest(), options: cri.options) }
        #expect(reply.runtimeHandlers.map(\.name) == ["", "skiff", "runc"])
        #expect(reply.runtimeHandlers.map(\.features.recursiveReadOnlyMounts) == [true, true, false])
        // User namespaces: the built-in handler's, where the kernel idmaps overlay layers.
        let userns = KernelRelease.atLeast(5, 19)
        #expect(reply.runtimeHandlers.map(\.features.userNamespaces) == [userns, userns, false])
        #expect(reply.features.supplementalGroupsPolicy)
        let refused = await { () async -> RPCError.Code? in
            do {
                _ = try await daemon.withClient { cri in
                    try await cri.runtime.runPodSandbox(.with {
                        $0.runtimeHandler = "runc"
                        $0.config = UserNamespaceTests.podConfig("runc-userns", userns: UserNamespaceTests.userns(), logs: daemon.dir)
                    }, options: cri.options)
                }
                return nil
            } catch let error as RPCError { return error.code } catch { return .unknown }
        }()
        #expect(refused == .failedPrecondition, "a handler without user namespaces")
    }

    @Test func updateRuntimeConfigKeepsAValidPodCIDRAndRejectsABadOne() async throws {
        let daemon = try await DaemonHarness()
        try await daemon.withClient { cri in
            _ = try await cri.runtime.updateRuntimeConfig(
                .with { $0.runtimeConfig.networkConfig.podCidr = "10.244.1.0/24" }, options: cri.options)
            let status = try await cri.runtime.status(.with { $0.verbose = true }, options: cri.options)
            #expect(status.info["network"]?.contains("10.244.1.0/24") == true)
            let error = await #expect(throws: RPCError.self) {
                try await cri.runtime.updateRuntimeConfig(
                    .with { $0.runtimeConfig.networkConfig.podCidr = "10.244.1.0/99" }, options: cri.options)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("pod_cidr") == true)
        }
    }

    @Test func imageFsInfoMeasuresTheStoreOnDisk() async throws {
        let daemon = try await DaemonHarness()
        let empty = try await daemon.withClient { cri in
            try await cri.image.imageFsInfo(Runtime_V1_ImageFsInfoRequest(), options: cri.options)
        }
        #expect(empty.imageFilesystems.count == 1)
        #expect(empty.imageFilesystems[0].fsID.mountpoint.hasPrefix(daemon.root))
        #expect(empty.imageFilesystems[0].timestamp > 0)

        try FileManager.default.createDirectory(atPath: daemon.root + "/content/blobs", withIntermediateDirectories: true)
        try Data(repeating: 1, count: 1 << 20).write(to: URL(fileURLWithPath: daemon.root + "/content/blobs/one"))
        let full = try await daemon.withClient { cri in
            try await cri.image.imageFsInfo(Runtime_V1_ImageFsInfoRequest(), options: cri.options)
        }
        let grown = full.imageFilesystems[0].usedBytes.value - empty.imageFilesystems[0].usedBytes.value
        #expect(grown >= 1 << 20)
        #expect(full.imageFilesystems[0].inodesUsed.value >= empty.imageFilesystems[0].inodesUsed.value + 3)
    }
}
