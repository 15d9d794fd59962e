#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxKit
import PodNetwork
import RuntimeEngine
import SkiffConfig
import SpecBuilder

/// The pod sandboxes of this node: their records, namespaces and networks. The actor orders the
/// bookkeeping; the slow parts (a helper process, CNI plugins) run off the pool with the pod marked
/// busy, so a second call for the same pod waits instead of interleaving.
public actor PodSandboxes {
    let store: PodStore
    let cni: CNIPlugins
    let cniConfDir: String
    /// The `skiff` binary, for `sandbox-pin`.
    let skiff: String
    /// `skiff-monitor`, which also holds a pod's shared pid namespace.
    let monitor: String
    let systemdCgroup: Bool
    /// The runtime handlers a pod may name (the built-in one as "" or "skiff").
    let handlers: Set<String>
    private var pods: [String: PodSandboxRecord] = [:]
    private var busy: Set<String> = []
    private let warn: @Sendable (String) -> Void
    /// Where the pods' CREATED/STARTED/STOPPED/DELETED go (shared with the containers).
    public let events: LifecycleEvents

    public init(config: SkiffConfiguration, skiff: String, monitor: String, events: LifecycleEvents = LifecycleEvents(),
                warn: @escaping @Sendable (String) -> Void) {
        self.events = events
        store = PodStore(root: config.root, state: config.state)
        cni = CNIPlugins(binDirs: config.cni.binDirs, cacheDir: config.state + "/cni")
        cniConfDir = config.cni.confDir
        self.skiff = skiff
        self.monitor = monitor
        systemdCgroup = config.runtime.effectiveCgroupDriver == "systemd"
        handlers = Set(config.runtime.handlers.keys).union(["", SkiffConfiguration.Runtime.builtInHandler])
        self.warn = warn
    }

    /// Reads the records at start: a create that never finished is rolled back; a ready pod whose
    /// namespaces are gone (the node rebooted, `/run` is empty) is no longer ready.
    public func recover() async {
        for record in store.loadAll(warn: warn) {
            var record = record
            if record.state == .creating {
                await teardown(record)
                try? store.remove(record.id)
                continue
            }
            let pinned = namespaces(record)
            if record.state == .ready, (pinned.networkPath ?? pinned.ipcPath).map({ !FileSystem.exists($0) }) == true
                || (pinned.pid && pinned.pidHolder == nil) {
                record.state = .notReady
                try? store.save(record)
            }
            pods[record.id] = record
        }
    }

    /// Whether the built-in handler can run pods in user namespaces here (`Status` features).
    public nonisolated static var supportsUserNamespaces: Bool { PodSandboxValidation.kernelSupportsUserNamespaces }

    /// RunPodSandbox. A retry of a create that outlived its caller finds the ready pod again.
    public func run(_ spec: PodSandboxSpec) async throws -> String {
        let sysctls = try PodSandboxValidation.validate(spec)
        guard handlers.contains(spec.runtimeHandler) else {
            throw PodManagerError.invalidArgument(field: "runtime_handler",
                                                  reason: "unknown handler \"\(spec.runtimeHandler)\" (this node has: \(handlers.filter { !$0.isEmpty }.sorted().joined(separator: ", ")))")
        }
        if spec.userNamespace != nil {
            guard spec.runtimeHandler.isEmpty || spec.runtimeHandler == SkiffConfiguration.Runtime.builtInHandler else {
                throw PodManagerError.wrongState("runtime handler \"\(spec.runtimeHandler)\" does not support user namespaces (Status lists the handlers that do)")
            }
            guard PodSandboxValidation.kernelSupportsUserNamespaces else {
                throw PodManagerError.wrongState("this kernel cannot give a pod a user namespace: idmapped overlay layers need Linux 5.19 or later")
            }
        }
        if let existing = pods.values.first(where: { $0.spec.reservedName == spec.reservedName }) {
            guard existing.state == .ready, existing.spec == spec else {
                throw PodManagerError.alreadyExists("the pod sandbox name \"\(spec.reservedName)\" is reserved for \(existing.id)")
            }
            return existing.id
        }
        var record = PodSandboxRecord(id: Self.newID(), spec: spec, state: .creating, createdAt: WallClock.nanoseconds())
        pods[record.id] = record
        busy.insert(record.id)
        defer { busy.remove(record.id) }
        do {
            try store.save(record)
            let outcome = try await setUp(record, sysctls: sysctls)
            record.ips = outcome.ips
            record.networkName = outcome.network
            record.state = .ready
            try store.save(record)
            pods[record.id] = record
            emit(.created, record)
            emit(.started, record)
            return record.id
        } catch {
            await teardown(record)
            try? store.remove(record.id)
            pods[record.id] = nil
            throw error
        }
    }

    /// StopPodSandbox: the network and namespaces go; the record stays, not ready. Idempotent, and
    /// an unknown id is not an error (the kubelet retries stops).
    public func stop(_ id: String) async throws {
        try Self.require(id)
        try await exclusive(id) {
            guard var record = pods[id] else { return }
            let wasReady = record.state == .ready
            try await release(record)
            record.state = .notReady
            try store.save(record)
            pods[id] = record
            if wasReady { emit(.stopped, record) }
        }
    }

    /// RemovePodSandbox: stops it if needed, then forgets it. An unknown id is not an error.
    public func remove(_ id: String) async throws {
        try Self.require(id)
        try await exclusive(id) {
            guard let record = pods[id] else { return }
            if record.state != .notReady { try await release(record) }
            try store.remove(id)
            pods[id] = nil
            if record.state == .ready { emit(.stopped, record) }
            emit(.deleted, record)
        }
    }

    private func emit(_ kind: LifecycleEvent.Kind, _ record: PodSandboxRecord) {
        events.publish(LifecycleEvent(kind: kind, containerID: record.id, podID: record.id, at: WallClock.nanoseconds()))
    }

    public func status(_ id: String) throws(PodManagerError) -> PodSandboxRecord {
        try Self.require(id)
        guard let record = pods[id] ?? uniquePrefix(id) else { throw .notFound(kind: "pod sandbox", id: id) }
        return record
    }

    /// PortForward: the pinned network namespace of a ready pod, nil for a pod on the node's network.
    public func networkNamespace(forwarding id: String) throws(PodManagerError) -> (id: String, path: String?) {
        let record = try status(id)
        guard record.state == .ready else { throw .wrongState("pod sandbox \(record.id) is not ready") }
        return (record.id, namespaces(record).networkPath)
    }

    /// Every pod except those still being created, newest first.
    public func list() -> [PodSandboxRecord] {
        pods.values.filter { $0.state != .creating }.sorted { $0.createdAt > $1.createdAt }
    }

    static func require(_ id: String, field: String = "pod_sandbox_id") throws(PodManagerError) {
        guard !id.isEmpty else { throw .invalidArgument(field: field, reason: "required") }
    }

    /// What a container of this pod joins and mounts; the pod must be ready.
    public func sandboxInput(_ id: String) throws(PodManagerError) -> (SandboxInput, PodSandboxSpec) {
        guard !id.isEmpty else { throw .invalidArgument(field: "pod_sandbox_id", reason: "required") }
        guard let record = pods[id] else { throw .notFound(kind: "pod sandbox", id: id) }
        guard record.state == .ready else { throw .wrongState("pod sandbox \(id) is not ready") }
        let namespaces = namespaces(record)
        var input = SandboxInput()
        input.id = record.id
        input.name = record.spec.name
        input.namespace = record.spec.namespace
        input.uid = record.spec.uid
        input.networkNamespace = namespaces.networkPath
        input.ipcNamespace = namespaces.ipcPath
        input.utsNamespace = namespaces.utsPath
        input.pidNamespace = namespaces.pidPath
        if let userns = record.spec.userNamespace, let path = namespaces.userPath {
            input.userNamespace = .init(path: path, uids: userns.uids, gids: userns.gids)
        }
        input.cgroupParent = record.spec.cgroupParent
        input.systemdCgroup = systemdCgroup
        input.hostnameFile = store.volatileDirectory(id) + "/hostname"
        input.resolvConfFile = store.volatileDirectory(id) + "/resolv.conf"
        return (input, record.spec)
    }

    /// The full id for an unambiguous prefix, as crictl's short ids need.
    private func uniquePrefix(_ prefix: String) -> PodSandboxRecord? {
        guard !prefix.isEmpty else { return nil }
        let matches = pods.values.filter { $0.id.hasPrefix(prefix) && $0.state != .creating }
        return matches.count == 1 ? matches[0] : nil
    }

    private func exclusive(_ id: String, _ body: () async throws -> Void) async throws {
        while busy.contains(id) { try await Task.sleep(for: .milliseconds(20)) }
        busy.insert(id)
        defer { busy.remove(id) }
        try await body()
    }

    private func namespaces(_ record: PodSandboxRecord) -> SandboxNamespaces {
        SandboxNamespaces(directory: store.namespacesDirectory(record.id), network: record.spec.network != .node,
                          ipc: record.spec.ipc != .node, uts: record.spec.network != .node, pid: record.spec.pid == .pod,
                          userMaps: record.spec.userNamespace.map { ($0.uidMap, $0.gidMap) })
    }

    private func attachment(_ record: PodSandboxRecord) -> CNIAttachment {
        CNIAttachment(containerID: record.id, netns: namespaces(record).networkPath ?? "", podNamespace: record.spec.namespace,
                      podName: record.spec.name, podUID: record.spec.uid, capabilityArgs: PodSandboxValidation.capabilityArgs(record.spec).mapValues { Data($0) })
    }

    /// Namespaces, the pod's files, then its network; each step is undone by `teardown`.
    private func setUp(_ record: PodSandboxRecord, sysctls: [(key: String, value: String)]) async throws -> (ips: [String], network: String?) {
        let namespaces = namespaces(record)
        let hostname = record.spec.network == .node ? nil : (record.spec.hostname.isEmpty ? nil : record.spec.hostname)
        let volatile = store.volatileDirectory(record.id)
        let (skiff, monitor, cni, confDir) = (self.skiff, self.monitor, self.cni, self.cniConfDir)
        let attachment = attachment(record)
        let spec = record.spec
        return try await OffPool.run {
            try namespaces.pin(skiff: skiff, hostname: hostname, sysctls: sysctls, holder: monitor)
            try PodFiles.write(spec, to: volatile)
            guard spec.network != .node else { return ([], nil) }
            let network = try CNINetwork.load(directory: confDir)
            let result = try cni.add(network, attachment)
            return (result.ips, network.name)
        }
    }

    /// Stop's work: CNI DEL with what ADD cached, then the namespaces. Errors of DEL are returned
    /// (the kubelet retries the stop); the namespaces stay until DEL has succeeded.
    private func release(_ record: PodSandboxRecord) async throws {
        let (namespaces, attachment, cni) = (namespaces(record), attachment(record), self.cni)
        let network = record.networkName
        let confDir = cniConfDir
        try await OffPool.run {
            if let network {
                try cni.del(networkName: network, attachment, current: try? CNINetwork.load(directory: confDir))
            }
            namespaces.unpin()
        }
    }

    /// Best effort, for a create that failed or never finished.
    private func teardown(_ record: PodSandboxRecord) async {
        do { try await release(PodSandboxRecord(id: record.id, spec: record.spec, state: record.state, createdAt: record.createdAt,
                                                networkName: record.networkName ?? (try? CNINetwork.load(directory: cniConfDir))?.name)) }
        catch { warn("cleaning up pod \(record.id): \(error)") }
        namespaces(record).unpin()
    }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
