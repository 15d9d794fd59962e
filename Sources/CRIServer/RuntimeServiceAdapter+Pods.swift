import CRIAPI
import Foundation
import GRPCCore
import JSONCoding
import PodManager

// Pod sandboxes: protobuf in, PodSandboxes, protobuf out.
extension RuntimeServiceAdapter {
    public func runPodSandbox(request: Runtime_V1_RunPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RunPodSandboxResponse {
        try await CRIStatus.serving("RunPodSandbox", logger: logger) {
            let id = try await pods.run(Self.spec(request.config, handler: request.runtimeHandler))
            return .with { $0.podSandboxID = id }
        }
    }

    public func stopPodSandbox(request: Runtime_V1_StopPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_StopPodSandboxResponse {
        try await CRIStatus.serving("StopPodSandbox", logger: logger) {
            try await containers.stopAll(inPod: request.podSandboxID)
            try await pods.stop(request.podSandboxID)
            return Runtime_V1_StopPodSandboxResponse()
        }
    }

    public func removePodSandbox(request: Runtime_V1_RemovePodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RemovePodSandboxResponse {
        try await CRIStatus.serving("RemovePodSandbox", logger: logger) {
            try await containers.removeAll(inPod: request.podSandboxID)
            try await pods.remove(request.podSandboxID)
            return Runtime_V1_RemovePodSandboxResponse()
        }
    }

    public func podSandboxStatus(request: Runtime_V1_PodSandboxStatusRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatusResponse {
        try await CRIStatus.serving("PodSandboxStatus", logger: logger) {
            let record = try await pods.status(request.podSandboxID)
            return .with { reply in
                reply.status = Self.status(record)
                if request.verbose, let info = try? JSONEncoding.string(record) { reply.info = ["info": info] }
            }
        }
    }

    public func listPodSandbox(request: Runtime_V1_ListPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxResponse {
        try await CRIStatus.serving("ListPodSandbox", logger: logger) {
            let filter = request.hasFilter ? request.filter : nil
            let records = await pods.list().filter { record in
                guard let filter else { return true }
                if !filter.id.isEmpty && !record.id.hasPrefix(filter.id) { return false }
                if filter.hasState && Self.state(record) != filter.state.state { return false }
                return filter.labelSelector.allSatisfy { record.spec.labels[$0.key] == $0.value }
            }
            return .with { $0.items = records.map(Self.summary) }
        }
    }

    static func spec(_ config: Runtime_V1_PodSandboxConfig, handler: String) throws -> PodSandboxSpec {
        var spec = PodSandboxSpec()
        spec.name = config.metadata.name
        spec.uid = config.metadata.uid
        spec.namespace = config.metadata.namespace
        spec.attempt = config.metadata.attempt
        spec.hostname = config.hostname
        spec.logDirectory = config.logDirectory
        if config.hasDnsConfig {
            spec.dns = .init(servers: config.dnsConfig.servers, searches: config.dnsConfig.searches, options: config.dnsConfig.options)
        }
        spec.portMappings = config.portMappings.map {
            .init(proto: protocolName($0.protocol), containerPort: $0.containerPort, hostPort: $0.hostPort, hostIP: $0.hostIp)
        }
        spec.labels = config.labels
        spec.annotations = config.annotations
        spec.cgroupParent = config.linux.cgroupParent
        spec.sysctls = config.linux.sysctls
        let options = config.linux.securityContext.namespaceOptions
        spec.userNamespace = try userNamespace(options)
        spec.network = mode(options.network)
        spec.pid = mode(options.pid)
        spec.ipc = mode(options.ipc)
        spec.runtimeHandler = handler
        return spec
    }

    /// An unknown enum number is kept as something validation refuses, never trapped on.
    static func mode(_ mode: Runtime_V1_NamespaceMode) -> PodSandboxSpec.NamespaceMode {
        switch mode {
        case .pod: .pod
        case .container: .container
        case .node: .node
        case .target, .UNRECOGNIZED: .target
        }
    }

    static func protocolName(_ value: Runtime_V1_Protocol) -> String {
        switch value {
        case .tcp: "tcp"
        case .udp: "udp"
        case .sctp: "sctp"
        case .UNRECOGNIZED(let n): "protocol \(n)"
        }
    }

    static func state(_ record: PodSandboxRecord) -> Runtime_V1_PodSandboxState {
        record.state == .ready ? .sandboxReady : .sandboxNotready
    }

    static func metadata(_ spec: PodSandboxSpec) -> Runtime_V1_PodSandboxMetadata {
        .with {
            $0.name = spec.name
            $0.uid = spec.uid
            $0.namespace = spec.namespace
            $0.attempt = spec.attempt
        }
    }

    static func summary(_ record: PodSandboxRecord) -> Runtime_V1_PodSandbox {
        .with {
            $0.id = record.id
            $0.metadata = metadata(record.spec)
            $0.state = state(record)
            $0.createdAt = record.createdAt
            $0.labels = record.spec.labels
            $0.annotations = record.spec.annotations
            $0.runtimeHandler = record.spec.runtimeHandler
        }
    }

    static func status(_ record: PodSandboxRecord) -> Runtime_V1_PodSandboxStatus {
        .with { status in
            status.id = record.id
            status.metadata = metadata(record.spec)
            status.state = state(record)
            status.createdAt = record.createdAt
            status.labels = record.spec.labels
            status.annotations = record.spec.annotations
            status.runtimeHandler = record.spec.runtimeHandler
            // Only a ready pod has addresses (the kubelet reads them as the pod's IPs).
            if record.state == .ready, let first = record.ips.first {
                status.network = .with {
                    $0.ip = first
                    $0.additionalIps = record.ips.dropFirst().map { ip in .with { $0.ip = ip } }
                }
            }
            status.linux = .with {
                $0.namespaces = .with {
                    $0.options = .with {
                        $0.network = cri(record.spec.network)
                        $0.pid = cri(record.spec.pid)
                        $0.ipc = cri(record.spec.ipc)
                    }
                }
            }
        }
    }

    static func cri(_ mode: PodSandboxSpec.NamespaceMode) -> Runtime_V1_NamespaceMode {
        switch mode {
        case .pod: .pod
        case .container: .container
        case .node: .node
        case .target: .target
        }
    }
}
