#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Cgroups
import ImageStore
import JSONCoding
import LinuxKit
import OCI
import SkiffConfig
import SpecBuilder

/// The containers of this node's pods. Each runs under its own `skiff-monitor` (ContainerMonitor),
/// so it outlives skiffd; this actor keeps the records and asks the runtime (`skiff`) for the rest.
/// An exit is read from the monitor's record whenever a container is looked at.
public actor Containers {
    public struct Paths: Sendable {
        public var root: String       // <root>/containers
        public var state: String      // <state>/containers
        public var runtimeRoot: String
        public var skiff: String
        public var monitor: String
        /// Handlers besides skiff (`runtime.handlers`): name → runc-compatible binary.
        public var handlers: [String: String]
        public init(root: String, state: String, runtimeRoot: String, skiff: String, monitor: String, handlers: [String: String] = [:]) {
            self.root = root
            self.state = state
            self.runtimeRoot = runtimeRoot
            self.skiff = skiff
            self.monitor = monitor
            self.handlers = handlers
        }
    }

    let paths: Paths
    let pods: PodSandboxes
    let images: ImageManager
    let layout: ImageStoreLayout
    /// Controllers whose absence skips a limit instead of failing (`runtime.tolerate_missing_controllers`).
    let tolerated: Set<String>
    private var containers: [String: CRIContainer] = [:]
    private var busy: Set<String> = []
    private let warn: @Sendable (String) -> Void
    /// The pods' event hub: containers publish into the same one.
    var events: LifecycleEvents { pods.events }

    public init(paths: Paths, pods: PodSandboxes, images: ImageManager, layout: ImageStoreLayout, tolerateMissing: [String] = [],
                warn: @escaping @Sendable (String) -> Void) {
        self.paths = paths
        tolerated = Set(tolerateMissing)
        self.pods = pods
        self.images = images
        self.layout = layout
        self.warn = warn
    }

    func recordPath(_ id: String) -> String { paths.root + "/" + id + "/container.json" }
    func volatile(_ id: String) -> String { paths.state + "/" + id }

    /// Loads the records; a create that never finished is rolled back, exits that happened while
    /// skiffd was away are read from the monitors' records.
    public func recover() async {
        for id in FileSystem.directoryEntries(paths.root).sorted() {
            guard let bytes = try? AtomicFile.read(recordPath(id)), var record = try? JSONDecoding.decode(CRIContainer.self, from: bytes) else {
                warn("cannot read the container record of \(id)")
                continue
            }
            if record.state == .creating {
                await discard(record)
                continue
            }
            refresh(&record)
            containers[id] = record
        }
    }

    public func create(_ request: Create) async throws -> String {
        guard !request.name.isEmpty, request.name.utf8.count <= 253, !request.name.contains("/"), PodSandboxValidation.plain(request.name) else {
            throw PodManagerError.invalidArgument(field: "config.metadata.name", reason: "1 to 253 bytes, no '/' or control characters")
        }
        guard request.logPath.isEmpty || (!request.logPath.hasPrefix("/") && !request.logPath.split(separator: "/").contains("..")
                                          && PodSandboxValidation.plain(request.logPath)) else {
            throw PodManagerError.invalidArgument(field: "config.log_path", reason: "must be relative to the pod's log directory, without '..'")
        }
        let (sandbox, podSpec) = try await pods.sandboxInput(request.podID)
        var container = request.container
        container.devices = try Self.hostDevices(container.devices)
        if case .target(let target) = container.security.pid {
            // kubectl debug's ephemeral container: the pid namespace of a running container of the same pod.
            let peer = try current(target)
            guard peer.podID == sandbox.id, peer.state == .running, peer.pid > 0, FileSystem.exists("/proc/\(peer.pid)/ns/pid") else {
                throw PodManagerError.wrongState("the target container \(target) is not running in pod \(request.podID)")
            }
            container.security.pid = .target(path: "/proc/\(peer.pid)/ns/pid")
        }
        if case .pod = container.security.pid {
            // POD is CRI's zero value, so a config that names no pid mode (crictl's examples) asks
            // for it. In a pod without a shared pid namespace the container gets one of its own:
            // kept apart, which is what that pod asked for (containerd would put it in the pause
            // container's namespace, which Skiff's pods do not have).
            if let path = sandbox.pidNamespace {
                container.security.pid = .pod(path: path)
            } else if podSpec.pid == .pod {
                throw PodManagerError.wrongState("the shared pid namespace of pod \(request.podID) is gone (its holder exited)")
            } else {
                container.security.pid = .container
            }
        }
        let key = request.podID + "/" + request.name + "/" + String(request.attempt)
        if let existing = containers.values.first(where: { $0.reservedName == key }) {
            throw PodManagerError.alreadyExists("the container name \"\(request.name)\" (attempt \(request.attempt)) is reserved for \(existing.id)")
        }
        guard let image = await images.status(request.image) else {
            throw PodManagerError.notFound(kind: "image", id: request.image)
        }
        var volumes: [(ImageMount, ImageRecord)] = []
        for mount in request.imageMounts {
            guard let record = await images.status(mount.image) else { throw PodManagerError.notFound(kind: "image", id: mount.image) }
            volumes.append((mount, record))
        }
        let id = PodSandboxes.newID()
        var record = CRIContainer(id: id, podID: request.podID, name: request.name, attempt: request.attempt, image: request.image,
                                  imageID: image.id, labels: request.container.labels, annotations: request.container.annotations,
                                  logPath: request.logPath.isEmpty || podSpec.logDirectory.isEmpty ? "" : podSpec.logDirectory + "/" + request.logPath,
                                  mounts: request.container.mounts.map {
                                      ContainerMountRecord(containerPath: $0.containerPath, hostPath: $0.hostPath, readonly: $0.readonly, propagation: $0.propagation.rawValue)
                                  } + volumes.map {
                                      ContainerMountRecord(containerPath: $0.0.containerPath, hostPath: "", readonly: true, propagation: "private",
                                                           image: $0.0.image, imageRef: $0.1.id)
                                  },
                                  state: .creating, createdAt: WallClock.nanoseconds())
        record.handler = podSpec.runtimeHandler.isEmpty || podSpec.runtimeHandler == SkiffConfiguration.Runtime.builtInHandler ? nil : podSpec.runtimeHandler
        _ = try runtimeOf(record)
        containers[id] = record
        busy.insert(id)
        defer { busy.remove(id) }
        do {
            try save(record)
            var input = container
            input.id = id
            input.resources = applicable(input.resources, container: request.name)
            input.name = request.name
            let prepared = try await prepare(record, input: input, image: image, volumes: volumes, sandbox: sandbox)
            record.pid = prepared.started.pid
            record.monitorPID = prepared.started.monitorPID
            record.uid = prepared.spec.process?.user.uid ?? 0
            record.gid = prepared.spec.process?.user.gid ?? 0
            record.supplementalGroups = prepared.spec.process?.user.additionalGids ?? []
            record.stopSignal = prepared.stopSignal
            record.cgroupsPath = prepared.spec.linux?.cgroupsPath
            record.state = .created
            try save(record)
            containers[id] = record
            emit(.created, record)
            return id
        } catch {
            await discard(record)
            containers[id] = nil
            throw error
        }
    }

    /// Rootfs, spec, bundle, then the runtime's create under a monitor: off the pool.
    private func prepare(_ record: CRIContainer, input: ContainerInput, image: ImageRecord, volumes: [(ImageMount, ImageRecord)],
                         sandbox: SandboxInput) async throws
        -> (spec: RuntimeSpec, started: ContainerMonitor.Started, stopSignal: String) {
        let (paths, layout, handlerMonitor) = (self.paths, self.layout, try monitor(for: record))
        let directory = paths.root + "/" + record.id
        let volatile = self.volatile(record.id)
        return try await OffPool.run {
            let config = try JSONDecoding.decode(ImageConfiguration.self, from: ContentStore(root: layout.content).read(image.config.digest))
            var imageInput = ImageInput()
            imageInput.reference = record.image
            imageInput.entrypoint = config.config?.entrypoint ?? []
            imageInput.cmd = config.config?.cmd ?? []
            imageInput.env = config.config?.env ?? []
            imageInput.workingDir = config.config?.workingDir ?? ""
            imageInput.user = config.config?.user ?? ""
            let rootfs = ContainerRootfs(directory: directory)
            let snapshots = Snapshots(root: layout.snapshots)
            let idmap = sandbox.userNamespace.flatMap { userns in
                userns.uids.first.flatMap { uid in userns.gids.first.map { gid in
                    ContainerRootfs.IDMap(userNamespace: userns.path, rootUID: uid.hostID, rootGID: gid.hostID)
                } }
            }
            try rootfs.mount(layers: image.chainIDs.map { snapshots.path(of: $0) }, idmap: idmap)
            var input = input
            for (index, (mount, volume)) in volumes.enumerated() {
                let source = try rootfs.mountImageVolume(index, layers: volume.chainIDs.map { snapshots.path(of: $0) }, subPath: mount.subPath)
                input.mounts.append(.init(containerPath: mount.containerPath, hostPath: source, readonly: true))
            }
            let users = UserDatabase(passwd: rootfs.read("/etc/passwd"), group: rootfs.read("/etc/group"))
            var builder = SpecBuilder(users: users)
            builder.hostCapabilities = Self.hostCapabilities
            builder.appArmorDefault = try Self.appArmorDefault(for: input.security.apparmor)
            if case .localhost(let path) = input.security.seccomp, !input.security.privileged {
                builder.localhostSeccomp[path] = try Self.localSeccompProfile(path)
            }
            let spec: RuntimeSpec
            do { spec = try builder.build(input, image: imageInput, sandbox: sandbox, rootfs: rootfs.rootfs) } catch {
                throw PodManagerError.invalidArgument(field: "config", reason: (error as? SpecError)?.description ?? "\(error)")
            }
            try AtomicFile.write(JSONEncoding.encode(spec, pretty: true), to: directory + "/config.json", mode: 0o600)
            try FileSystem.makeDirectories(volatile, mode: 0o700)
            if !record.logPath.isEmpty {
                try FileSystem.makeDirectories(String(record.logPath[..<record.logPath.lastIndex(of: "/")!]), mode: 0o755)
            }
            var monitor = handlerMonitor
            // runc and skiff read slice:prefix:name only with --systemd-cgroup.
            monitor.systemdCgroup = spec.linux?.cgroupsPath?.contains(":") == true
            let started = try monitor.create(.init(id: record.id, bundle: directory, directory: volatile, logPath: record.logPath.isEmpty ? "/dev/null" : record.logPath,
                                                   stdin: input.stdin, stdinOnce: input.stdinOnce, terminal: input.tty))
            return (spec, started, config.config?.stopSignal ?? "SIGTERM")
        }
    }

    public func start(_ id: String) async throws {
        try PodSandboxes.require(id, field: "container_id")
        try await exclusive(id) {
            var record = try lookup(id)
            guard record.state == .created else {
                throw PodManagerError.wrongState("container \(id) is \(record.state.rawValue), not created")
            }
            // The parent's OOM kill count, for when the container's own cgroup is gone at its exit.
            record.parentOOMKills = cgroupDirectory(record).flatMap(ContainerStats.parentOOMKills)
            try await runtime(["start", id], for: record)
            record.startedAt = WallClock.nanoseconds()
            record.state = .running
            emit(.started, record)
            refresh(&record)
            try save(record)
            containers[id] = record
        }
    }

    /// The image's stop signal, then SIGKILL when `timeout` seconds have passed. Stopping a stopped
    /// or unknown container succeeds.
    public func stop(_ id: String, timeout: Int64) async throws {
        try PodSandboxes.require(id, field: "container_id")
        try await exclusive(id) {
            guard var record = containers[id] else { return }
            refresh(&record)
            if record.state == .running || record.state == .created {
                if timeout > 0 {
                    try? await runtime(["kill", id, record.stopSignal], for: record)
                    await waitForExit(&record, seconds: Double(timeout))
                }
                if record.state != .exited {
                    try? await runtime(["kill", "--all", id, "SIGKILL"], for: record)
                    await waitForExit(&record, seconds: 10)
                }
            }
            try save(record)
            containers[id] = record
        }
    }

    public func remove(_ id: String) async throws {
        try PodSandboxes.require(id, field: "container_id")
        try await stop(id, timeout: 0)
        try await exclusive(id) {
            guard let record = containers[id] else { return }
            await discard(record)
            containers[id] = nil
            emit(.deleted, record)
        }
    }

    public func status(_ id: String) throws -> CRIContainer {
        try PodSandboxes.require(id, field: "container_id")
        return try current(id)
    }

    /// The record with any exit the monitor wrote since, kept (so an exit is noticed, and announced, once).
    func current(_ id: String) throws -> CRIContainer {
        var record = try lookup(id)
        // An operation under way (a start waiting on the runtime) reads the exit itself when it
        // finishes: reading it here too would announce STOPPED before STARTED, and twice.
        guard !busy.contains(record.id) else { return record }
        refresh(&record)
        containers[record.id] = record
        return record
    }

    public func list() -> [CRIContainer] {
        sweep()
        return containers.values.filter { $0.state != .creating }.sorted { $0.createdAt > $1.createdAt }
    }

    /// Image id → the containers using it, for the image store's collection.
    public func imageUsers() -> [String: [String]] {
        Dictionary(grouping: containers.values, by: \.imageID).mapValues { $0.map(\.id) }
    }

    /// StopPodSandbox's first step: every container of the pod is killed (CRI: forcibly).
    public func stopAll(inPod podID: String) async throws {
        for id in containers.values.filter({ $0.podID == podID }).map(\.id) { try await stop(id, timeout: 0) }
    }

    /// RemovePodSandbox's first step: every container of the pod goes.
    public func removeAll(inPod podID: String) async throws {
        for id in containers.values.filter({ $0.podID == podID }).map(\.id) { try await remove(id) }
    }

    func lookup(_ id: String) throws -> CRIContainer {
        if let record = containers[id] { return record }
        let matches = containers.values.filter { $0.id.hasPrefix(id) && $0.state != .creating }
        guard matches.count == 1 else { throw PodManagerError.notFound(kind: "container", id: id) }
        return matches[0]
    }

    /// An exit the monitor recorded becomes the record's.
    func refresh(_ record: inout CRIContainer) {
        guard record.state == .running || record.state == .created, let exit = ContainerMonitor.exit(directory: volatile(record.id)) else { return }
        record.state = .exited
        record.finishedAt = exit.exitedAt
        record.exitCode = exit.exitCode
        record.reason = exit.exitCode == 0 ? "Completed"
            : ContainerStats.oomKilled(cgroup: cgroupDirectory(record), parentBaseline: record.parentOOMKills) ? "OOMKilled" : "Error"
        try? save(record)
        emit(.stopped, record)
    }

    /// Reads every running container's exit record, so a STOPPED event follows an exit within the
    /// watcher's period even when nobody asks for the container's status.
    public func sweep() {
        for id in containers.keys where !busy.contains(id) {
            if var record = containers[id] { refresh(&record); containers[id] = record }
        }
    }

    private func emit(_ kind: LifecycleEvent.Kind, _ record: CRIContainer) {
        events.publish(LifecycleEvent(kind: kind, containerID: record.id, podID: record.podID, at: WallClock.nanoseconds()))
    }

    private func waitForExit(_ record: inout CRIContainer, seconds: Double) async {
        let deadline = WallClock.monotonicMilliseconds() + Int64(seconds * 1000)
        // A killed process is usually gone within a millisecond or two: look again soon, then
        // less often (the monitor, not skiffd, is the container's parent, so no SIGCHLD comes).
        var pause = 1
        refresh(&record)
        while record.state != .exited && WallClock.monotonicMilliseconds() < deadline {
            try? await Task.sleep(for: .milliseconds(pause))
            pause = min(pause * 2, 20)
            refresh(&record)
        }
    }

    func exclusive(_ id: String, _ body: () async throws -> Void) async throws {
        while busy.contains(id) { try await Task.sleep(for: .milliseconds(20)) }
        busy.insert(id)
        defer { busy.remove(id) }
        try await body()
    }

    /// Everything a container had: the runtime's state, the rootfs, the directories, the record.
    private func discard(_ record: CRIContainer) async {
        _ = try? await runtime(["delete", "--force", record.id], for: record)
        do {
            try ContainerRootfs(directory: paths.root + "/" + record.id).remove()
            try FileSystem.removeTree(volatile(record.id))
        } catch {
            warn("removing container \(record.id): \(error)")
        }
    }

    /// The limits this node can apply: those of a tolerated missing controller are dropped, with a
    /// warning naming the container and the controller (never silently).
    func applicable(_ resources: ContainerInput.Resources, container: String) -> ContainerInput.Resources {
        guard !tolerated.isEmpty else { return resources }
        let root = (try? CgroupV2.mounted().root) ?? "/sys/fs/cgroup"
        let available = Set(((try? AtomicFile.read(root + "/cgroup.controllers", limit: 4096)).map { String(decoding: $0, as: UTF8.self) } ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        let (kept, dropped) = resources.dropping(controllers: tolerated.subtracting(available))
        for controller in dropped {
            warn("container \(container): the \(controller) controller is not available in \(root); its limits are skipped (runtime.tolerate_missing_controllers)")
        }
        return kept
    }

    private func save(_ record: CRIContainer) throws {
        try FileSystem.makeDirectories(paths.root + "/" + record.id, mode: 0o700)
        try AtomicFile.write(JSONEncoding.encode(record, pretty: true), to: recordPath(record.id), mode: 0o600)
    }
}
