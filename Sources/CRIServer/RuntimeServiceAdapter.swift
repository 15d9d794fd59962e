import CRIAPI
import Foundation
import GRPCCore
import Logging
import PodManager
import SkiffConfig
import StreamServer

/// `runtime.v1.RuntimeService` on top of `NodeState`: each method decodes, calls, encodes.
public struct RuntimeServiceAdapter: Runtime_V1_RuntimeService.SimpleServiceProtocol {
    /// The CRI API version Skiff speaks (the `version` field kubelet compares against).
    public static let kubeAPIVersion = "0.1.0"

    let node: NodeState
    let pods: PodSandboxes
    let containers: Containers
    let logger: Logger
    /// The server behind Exec, Attach and PortForward's URLs; nil: those calls fail (UNAVAILABLE).
    let streams: StreamServer?

    public init(node: NodeState, pods: PodSandboxes, containers: Containers, logger: Logger, streams: StreamServer? = nil) {
        self.node = node
        self.pods = pods
        self.containers = containers
        self.logger = logger
        self.streams = streams
    }

    public func version(
        request: Runtime_V1_VersionRequest, context: ServerContext
    ) async throws -> Runtime_V1_VersionResponse {
        .with {
            $0.version = Self.kubeAPIVersion
            $0.runtimeName = "skiff"
            $0.runtimeVersion = SkiffVersion.current
            $0.runtimeApiVersion = "v1"
        }
    }

    public func status(
        request: Runtime_V1_StatusRequest, context: ServerContext
    ) async throws -> Runtime_V1_StatusResponse {
        try await CRIStatus.serving("Status", logger: logger) {
            let conditions = await node.conditions()
            var response = Runtime_V1_StatusResponse.with {
                $0.status.conditions = conditions.map { condition in
                    .with {
                        $0.type = condition.type
                        $0.status = condition.status
                        $0.reason = condition.reason
                        $0.message = condition.message
                    }
                }
            }
            // Every handler, the default one also under the empty name, as the kubelet reads them.
            let names = ["", SkiffConfiguration.Runtime.builtInHandler] + node.config.runtime.handlers.keys.sorted()
            response.runtimeHandlers = names.map { name in
                .with {
                    $0.name = name
                    // skiff applies `rro` with mount_setattr; what another binary supports is not known here.
                    let builtIn = name.isEmpty || name == SkiffConfiguration.Runtime.builtInHandler
                    $0.features = .with {
                        $0.recursiveReadOnlyMounts = builtIn
                        $0.userNamespaces = builtIn && PodSandboxes.supportsUserNamespaces
                    }
                }
            }
            response.features = .with { $0.supplementalGroupsPolicy = true }
            if request.verbose {
                response.info = try await verboseInfo()
            }
            return response
        }
    }

    /// `Status` verbose info: values are JSON documents, as crictl expects.
    private func verboseInfo() async throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let config = String(decoding: try encoder.encode(node.config), as: UTF8.self)
        let network = String(decoding: try encoder.encode(["podCIDR": await node.podCIDR]), as: UTF8.self)
        return ["config": config, "network": network]
    }

    public func runtimeConfig(
        request: Runtime_V1_RuntimeConfigRequest, context: ServerContext
    ) async throws -> Runtime_V1_RuntimeConfigResponse {
        // The kubelet (1.31+) takes its cgroup driver from here.
        .with { $0.linux.cgroupDriver = node.config.runtime.effectiveCgroupDriver == "systemd" ? .systemd : .cgroupfs }
    }

    public func updateRuntimeConfig(
        request: Runtime_V1_UpdateRuntimeConfigRequest, context: ServerContext
    ) async throws -> Runtime_V1_UpdateRuntimeConfigResponse {
        try await CRIStatus.serving("UpdateRuntimeConfig", logger: logger) {
            let cidr = request.runtimeConfig.networkConfig.podCidr
            try await node.updatePodCIDR(cidr)
            logger.info("pod CIDR updated", metadata: ["pod_cidr": "\(cidr)"])
            return Runtime_V1_UpdateRuntimeConfigResponse()
        }
    }
}
