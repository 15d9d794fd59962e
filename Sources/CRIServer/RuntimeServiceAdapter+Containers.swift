import CRIAPI
import Foundation
import GRPCCore
import JSONCoding
import OCI
import PodManager
import SpecBuilder

// Containers: protobuf in, Containers, protobuf out.
extension RuntimeServiceAdapter {
    public func createContainer(request: Runtime_V1_CreateContainerRequest, context: ServerContext) async throws -> Runtime_V1_CreateContainerResponse {
        try await CRIStatus.serving("CreateContainer", logger: logger) {
            let config = request.config
            let create = Containers.Create(podID: request.podSandboxID, name: config.metadata.name, attempt: config.metadata.attempt,
                                           image: config.image.image, logPath: config.logPath, container: try Self.input(config),
                                           imageMounts: try Self.imageMounts(config))
            let id = try await containers.create(create)
            return .with { $0.containerID = id }
        }
    }

    public func startContainer(request: Runtime_V1_StartContainerRequest, context: ServerContext) async throws -> Runtime_V1_StartContainerResponse {
        try await CRIStatus.serving("StartContainer", logger: logger) {
            try await containers.start(request.containerID)
            return Runtime_V1_StartContainerResponse()
        }
    }

    public func stopContainer(request: Runtime_V1_StopContainerRequest, context: ServerContext) async throws -> Runtime_V1_StopContainerResponse {
        try await CRIStatus.serving("StopContainer", logger: logger) {
            try await containers.stop(request.containerID, timeout: request.timeout)
            return Runtime_V1_StopContainerResponse()
        }
    }

    public func removeContainer(request: Runtime_V1_RemoveContainerRequest, context: ServerContext) async throws -> Runtime_V1_RemoveContainerResponse {
        try await CRIStatus.serving("RemoveContainer", logger: logger) {
            try await containers.remove(request.containerID)
            return Runtime_V1_RemoveContainerResponse()
        }
    }

    public func containerStatus(request: Runtime_V1_ContainerStatusRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatusResponse {
        try await CRIStatus.serving("ContainerStatus", logger: logger) {
            let record = try await containers.status(request.containerID)
            return .with { reply in
                reply.status = Self.status(record)
                // crictl inspect shows `info`: where the container runs, in containerd's key names
                // where it has them (not the status again: scripts read the first "state").
                if request.verbose, let info = try? JSONEncoding.string(VerboseInfo(record)) { reply.info = ["info": info] }
            }
        }
    }

    public func listContainers(request: Runtime_V1_ListContainersRequest, context: ServerContext) async throws -> Runtime_V1_ListContainersResponse {
        try await CRIStatus.serving("ListContainers", logger: logger) {
            let filter = request.hasFilter ? request.filter : nil
            let records = await containers.list().filter { record in
                guard let filter else { return true }
                if !filter.id.isEmpty && !record.id.hasPrefix(filter.id) { return false }
                if !filter.podSandboxID.isEmpty && !record.podID.hasPrefix(filter.podSandboxID) { return false }
                if filter.hasState && Self.state(record.state) != filter.state.state { return false }
                return filter.labelSelector.allSatisfy { record.labels[$0.key] == $0.value }
            }
            return .with { $0.containers = records.map(Self.summary) }
        }
    }

    public func reopenContainerLog(request: Runtime_V1_ReopenContainerLogRequest, context: ServerContext) async throws -> Runtime_V1_ReopenContainerLogResponse {
        try await CRIStatus.serving("ReopenContainerLog", logger: logger) {
            try await containers.reopenLog(request.containerID)
            return Runtime_V1_ReopenContainerLogResponse()
        }
    }

    public func updateContainerResources(request: Runtime_V1_UpdateContainerResourcesRequest, context: ServerContext) async throws -> Runtime_V1_UpdateContainerResourcesResponse {
        try await CRIStatus.serving("UpdateContainerResources", logger: logger) {
            try await containers.update(request.containerID, resources: Self.resources(request.linux))
            return Runtime_V1_UpdateContainerResourcesResponse()
        }
    }

    public func execSync(request: Runtime_V1_ExecSyncRequest, context: ServerContext) async throws -> Runtime_V1_ExecSyncResponse {
        try await CRIStatus.serving("ExecSync", logger: logger) {
            let result = try await containers.execSync(request.containerID, cmd: request.cmd, timeout: request.timeout)
            return .with {
                $0.stdout = Data(result.stdout)
                $0.stderr = Data(result.stderr)
                $0.exitCode = result.exitCode
            }
        }
    }

    static func resources(_ r: Runtime_V1_LinuxContainerResources) -> ContainerInput.Resources {
        var out = ContainerInput.Resources()
        out.cpuPeriod = r.cpuPeriod
        out.cpuQuota = r.cpuQuota
        out.cpuShares = r.cpuShares
        out.memoryLimit = r.memoryLimitInBytes
        out.memorySwapLimit = r.memorySwapLimitInBytes
        out.oomScoreAdj = r.oomScoreAdj
        out.cpusetCpus = r.cpusetCpus
        out.cpusetMems = r.cpusetMems
        out.unified = r.unified
        return out
    }

    /// userns_options: the node's (mode NODE, or none), or the pod's own with its mappings (POD).
    /// A container follows its pod: the kubelet repeats the pod's options in each container's.
    static func userNamespace(_ options: Runtime_V1_NamespaceOption) throws -> PodSandboxSpec.UserNamespace? {
        guard options.hasUsernsOptions else { return nil }
        let field = "namespace_options.userns_options"
        let userns = options.usernsOptions
        switch userns.mode {
        case .node:
            guard userns.uids.isEmpty, userns.gids.isEmpty else {
                throw PodManagerError.invalidArgument(field: field, reason: "mode NODE takes no mappings")
            }
            return nil
        case .pod:
            return .init(uids: idMappings(userns.uids), gids: idMappings(userns.gids))
        case .container, .target, .UNRECOGNIZED:
            throw PodManagerError.invalidArgument(field: field + ".mode", reason: "a user namespace is the node's (NODE) or the pod's (POD)")
        }
    }

    static func idMappings(_ list: [Runtime_V1_IDMapping]) -> [RuntimeSpec.IDMapping] {
        list.map { RuntimeSpec.IDMapping(containerID: $0.containerID, hostID: $0.hostID, size: $0.length) }
    }

    static func isImageVolume(_ mount: Runtime_V1_Mount) -> Bool { mount.hasImage && !mount.image.image.isEmpty }

    /// Image volumes (the kubelet's `image` volume source): read-only by definition.
    static func imageMounts(_ config: Runtime_V1_ContainerConfig) throws -> [Containers.ImageMount] {
        try config.mounts.filter(isImageVolume).map { mount in
            guard mount.readonly else { throw PodManagerError.invalidArgument(field: "mounts.readonly", reason: "an image volume is read-only") }
            guard mount.containerPath.hasPrefix("/"), !mount.containerPath.split(separator: "/").contains("..") else {
                throw PodManagerError.invalidArgument(field: "mounts.container_path", reason: "must be an absolute path without '..'")
            }
            return .init(containerPath: mount.containerPath, image: mount.image.image, subPath: mount.imageSubPath)
        }
    }

    static func input(_ config: Runtime_V1_ContainerConfig) throws -> ContainerInput {
        var c = ContainerInput()
        c.command = config.command
        c.args = config.args
        c.workingDir = config.workingDir
        // CRI carries env values as bytes; the OCI spec holds strings (JSON), so they go as UTF-8.
        c.env = config.envs.map { (kv: Runtime_V1_KeyValue) -> (key: String, value: String) in (kv.key, String(decoding: kv.value, as: UTF8.self)) }
        c.mounts = try config.mounts.filter { !isImageVolume($0) }.map { mount in
            let propagation: ContainerInput.Propagation = switch mount.propagation {
            case .propagationPrivate: .private
            case .propagationHostToContainer: .hostToContainer
            case .propagationBidirectional: .bidirectional
            case .UNRECOGNIZED(let n): throw PodManagerError.invalidArgument(field: "mounts.propagation", reason: "unknown value \(n)")
            }
            return .init(containerPath: mount.containerPath, hostPath: mount.hostPath, readonly: mount.readonly, propagation: propagation,
                         recursiveReadOnly: mount.recursiveReadOnly, uidMappings: idMappings(mount.uidMappings),
                         gidMappings: idMappings(mount.gidMappings))
        }
        // Their type and numbers come from a stat of the host's node, in PodManager.
        c.devices = config.devices.map {
            ContainerInput.Device(containerPath: $0.containerPath, hostPath: $0.hostPath, permissions: $0.permissions, type: "", major: 0, minor: 0)
        }
        c.labels = config.labels
        c.annotations = config.annotations
        c.stdin = config.stdin
        c.stdinOnce = config.stdinOnce
        c.tty = config.tty
        c.resources = resources(config.linux.resources)
        let s = config.linux.securityContext
        c.security.privileged = s.privileged
        c.security.addCapabilities = s.capabilities.addCapabilities
        c.security.dropCapabilities = s.capabilities.dropCapabilities
        c.security.readonlyRootfs = s.readonlyRootfs
        c.security.noNewPrivileges = s.noNewPrivs
        c.security.runAsUser = s.hasRunAsUser ? s.runAsUser.value : nil
        c.security.runAsGroup = s.hasRunAsGroup ? s.runAsGroup.value : nil
        c.security.runAsUsername = s.runAsUsername
        c.security.supplementalGroups = s.supplementalGroups
        c.security.strictSupplementalGroups = s.supplementalGroupsPolicy == .strict
        if !s.maskedPaths.isEmpty { c.security.maskedPaths = s.maskedPaths }
        if !s.readonlyPaths.isEmpty { c.security.readonlyPaths = s.readonlyPaths }
        // Checked only for its form: the pod's namespace is what the container joins.
        _ = try userNamespace(s.namespaceOptions)
        switch s.namespaceOptions.pid {
        case .container: c.security.pid = .container
        case .node: c.security.pid = .node
        case .pod: c.security.pid = .pod(path: "")
        case .target: c.security.pid = .target(path: s.namespaceOptions.targetID)
        case .UNRECOGNIZED(let n): throw PodManagerError.invalidArgument(field: "namespace_options.pid", reason: "unknown value \(n)")
        }
        if s.hasSeccomp {
            switch s.seccomp.profileType {
            case .unconfined: c.security.seccomp = .unconfined
            case .runtimeDefault: c.security.seccomp = .runtimeDefault
            case .localhost: c.security.seccomp = .localhost(s.seccomp.localhostRef)
            case .UNRECOGNIZED(let n): throw PodManagerError.invalidArgument(field: "seccomp.profile_type", reason: "unknown value \(n)")
            }
        }
        c.security.apparmor = try appArmor(s)
        return c
    }

    /// The `apparmor` field, else the deprecated `apparmor_profile` string ("runtime/default",
    /// "unconfined", "localhost/<name>").
    static func appArmor(_ s: Runtime_V1_LinuxContainerSecurityContext) throws -> ContainerInput.AppArmorChoice {
        if s.hasApparmor {
            switch s.apparmor.profileType {
            case .runtimeDefault: return .runtimeDefault
            case .unconfined: return .unconfined
            case .localhost:
                // critest (and some kubelets) send the name with the deprecated string's prefix.
                let name = ContainerInput.AppArmorChoice.profileName(s.apparmor.localhostRef)
                guard !name.isEmpty else { throw PodManagerError.invalidArgument(field: "apparmor.localhost_ref", reason: "required for Localhost") }
                return .localhost(name)
            case .UNRECOGNIZED(let n): throw PodManagerError.invalidArgument(field: "apparmor.profile_type", reason: "unknown value \(n)")
            }
        }
        switch s.apparmorProfile {
        case "": return .unset
        case "runtime/default": return .runtimeDefault
        case "unconfined": return .unconfined
        case let ref where ref.hasPrefix("localhost/") && ref.count > "localhost/".count:
            return .localhost(ContainerInput.AppArmorChoice.profileName(ref))
        default: throw PodManagerError.invalidArgument(field: "apparmor_profile", reason: "runtime/default, unconfined or localhost/<name>")
        }
    }

    static func state(_ state: CRIContainer.State) -> Runtime_V1_ContainerState {
        switch state {
        case .creating, .created: .containerCreated
        case .running: .containerRunning
        case .exited: .containerExited
        }
    }

    static func metadata(_ record: CRIContainer) -> Runtime_V1_ContainerMetadata {
        .with { $0.name = record.name; $0.attempt = record.attempt }
    }

    static func summary(_ record: CRIContainer) -> Runtime_V1_Container {
        .with {
            $0.id = record.id
            $0.podSandboxID = record.podID
            $0.metadata = metadata(record)
            $0.image = .with { $0.image = record.image }
            $0.imageRef = record.imageID
            $0.imageID = record.imageID
            $0.state = state(record.state)
            $0.createdAt = record.createdAt
            $0.labels = record.labels
            $0.annotations = record.annotations
        }
    }

    static func status(_ record: CRIContainer) -> Runtime_V1_ContainerStatus {
        .with { s in
            s.id = record.id
            s.metadata = metadata(record)
            s.state = state(record.state)
            s.createdAt = record.createdAt
            s.startedAt = record.startedAt
            s.finishedAt = record.finishedAt
            s.exitCode = record.exitCode
            s.image = .with { $0.image = record.image }
            s.imageRef = record.imageID
            s.imageID = record.imageID
            s.reason = record.reason
            s.labels = record.labels
            s.annotations = record.annotations
            s.logPath = record.logPath
            s.mounts = record.mounts.map { m in
                .with {
                    $0.containerPath = m.containerPath
                    $0.hostPath = m.hostPath
                    $0.readonly = m.readonly
                    $0.propagation = m.propagation == "bidirectional" ? .propagationBidirectional
                        : m.propagation == "hostToContainer" ? .propagationHostToContainer : .propagationPrivate
                    if let image = m.image { $0.image = .with { $0.image = image; $0.imageRef = m.imageRef ?? "" } }
                }
            }
            s.user = .with { user in
                user.linux = .with {
                    $0.uid = Int64(record.uid)
                    $0.gid = Int64(record.gid)
                    $0.supplementalGroups = record.supplementalGroups.map(Int64.init)
                }
            }
        }
    }
}

/// ContainerStatus's verbose `info`.
struct VerboseInfo: Encodable {
    var pid: Int32
    var monitorPid: Int32
    var sandboxID: String
    var cgroupsPath: String?
    var runtimeHandler: String

    init(_ record: CRIContainer) {
        pid = record.pid
        monitorPid = record.monitorPID
        sandboxID = record.podID
        cgroupsPath = record.cgroupsPath
        runtimeHandler = record.handler ?? "skiff"
    }
}
