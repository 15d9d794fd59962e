#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import LinuxKit
import OCI
import Synchronization

/// Pulls, lists and removes images: the logic behind CRI's ImageService. A pull resolves the
/// manifest for the platform, fetches the config and the layers concurrently (each verified into
/// the content store and unpacked into its own snapshot as soon as it arrives), checks the layers
/// against the config's diffIDs, and records the image. Pulls of the same reference at the same
/// time share one download.
public actor ImageManager {
    let layout: ImageStoreLayout
    let content: ContentStore
    let snapshots: Snapshots
    let client: RegistryClient
    let parallelLayers: Int
    var records: ImageRecords
    var inflight: [String: Task<ImageRecord, any Error>] = [:]
    /// Callers still waiting for each in-flight pull (cancelled ones leave).
    var waiters: [String: Set<UUID>] = [:]
    /// Layers being fetched and unpacked, by chain id: pulls of different images that share a
    /// layer share its download.
    var layerWork: [String: Task<Void, any Error>] = [:]
    /// A running garbage collection; pulls wait for it, so it never removes what they fetch.
    var collecting: Task<GarbageReport, Never>?
    var garbagePending = false
    /// Which containers use which image id; `remove` refuses an image in use.
    var users: @Sendable () async -> [String: [String]] = { [:] }

    public static let defaultPlatform = Platform(architecture: "amd64", os: "linux")

    public init(layout: ImageStoreLayout, client: RegistryClient, parallelLayers: Int = 3) {
        self.layout = layout
        content = ContentStore(root: layout.content)
        snapshots = Snapshots(root: layout.snapshots)
        self.client = client
        self.parallelLayers = max(1, parallelLayers)
        records = ImageRecords(dir: layout.images)
    }

    /// Tells the manager how to learn which containers use an image (the container layer owns that).
    public func setUsers(_ provider: @escaping @Sendable () async -> [String: [String]]) {
        users = provider
    }

    /// Pulls `image` (any reference form) and returns its record. A pull goes on while at least
    /// one caller still waits for it: when the last one is cancelled (its RPC's deadline passed,
    /// its client went away), the download is cancelled too, so a stalled registry holds nothing.
    public func pull(_ image: String, credentials: RegistryCredentials? = nil, platform: Platform = defaultPlatform) async throws -> ImageRecord {
        let reference = try ImageReference(parsing: image)
        let key = reference.description + " " + platform.description
        if let running = inflight[key] { return try await wait(for: running, key: key) }
        await collectionsFinished()
        // Another pull of this reference may have started while this one waited.
        if let running = inflight[key] { return try await wait(for: running, key: key) }
        let task = Task { () async throws -> ImageRecord in
            // The record is saved before the pull stops counting as in flight: a collection that
            // waited for it must see the image it fetched.
            let outcome: Result<ImageRecord, any Error>
            do {
                outcome = .success(try self.record(try await self.download(reference, credentials: credentials, platform: platform)))
            } catch {
                outcome = .failure(error)
            }
            self.inflight[key] = nil
            self.waiters[key] = nil
            await self.runPendingCollection()
            return try outcome.get()
        }
        inflight[key] = task
        return try await wait(for: task, key: key)
    }

    /// Waits for a pull as one of its callers; the last caller to be cancelled cancels the pull.
    private func wait(for task: Task<ImageRecord, any Error>, key: String) async throws -> ImageRecord {
        let caller = UUID()
        waiters[key, default: []].insert(caller)
        defer { waiters[key]?.remove(caller) }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            Task { await self.abandon(key, caller: caller, task: task) }
        }
    }

    private func abandon(_ key: String, caller: UUID, task: Task<ImageRecord, any Error>) {
        waiters[key]?.remove(caller)
        if waiters[key]?.isEmpty ?? true, inflight[key] == task { task.cancel() }
    }

    /// Merges a pulled image into its record (tags and digests add up) and saves it.
    private func record(_ pulled: ImageRecord) throws -> ImageRecord {
        var record = records.byID[pulled.id] ?? pulled
        record.repoTags = Array(Set(record.repoTags + pulled.repoTags)).sorted()
        record.repoDigests = Array(Set(record.repoDigests + pulled.repoDigests)).sorted()
        try records.save(record)
        return record
    }

    public func status(_ image: String) -> ImageRecord? { records.find(image) }

    /// Every image, or those `filter` names (CRI's ListImages filter is an image reference).
    public func list(filter: String? = nil) -> [ImageRecord] {
        if let filter, !filter.isEmpty { return records.find(filter).map { [$0] } ?? [] }
        return records.byID.values.sorted { $0.id < $1.id }
    }

    /// Removes the image `image` names, with all its tags, then collects what no image needs any
    /// more. An image that is not there is not an error (CRI: RemoveImage is idempotent); one
    /// that a container uses is refused.
    public func remove(_ image: String) async throws(ImageError) {
        guard let record = records.find(image) else { return }
        if let containers = await users()[record.id], !containers.isEmpty {
            throw .inUse(image, containers: containers.sorted())
        }
        records.delete(record.id)
        await collectGarbage()
    }

    // MARK: download

    func download(_ reference: ImageReference, credentials: RegistryCredentials?, platform: Platform) async throws -> ImageRecord {
        let resolved = try await client.manifest(for: reference, platform: platform, credentials: credentials)
        let manifest = resolved.manifest
        try await client.fetchBlob(reference, manifest.config, into: content, credentials: credentials)
        let config: ImageConfiguration
        do {
            config = try JSONDecoder().decode(ImageConfiguration.self, from: Data(try content.read(manifest.config.digest)))
            try config.validate()
        } catch {
            throw ImageError.badImage("\(reference): config: \(error)")
        }
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw ImageError.badImage("\(reference): \(manifest.layers.count) layers but \(diffIDs.count) diffIDs in the config")
        }
        let chainIDs = Snapshots.chainIDs(diffIDs)
        try await fetchAndUnpack(reference, layers: manifest.layers, diffIDs: diffIDs, chainIDs: chainIDs, credentials: credentials)
        // A pull for another platform than the node's does not take the tag: the tag keeps naming
        // the image this node runs (the platform can come from any pod's annotations).
        let tags = platform == Self.defaultPlatform ? reference.repoTag.map { [$0] } ?? [] : []
        return ImageRecord(id: manifest.config.digest, repoTags: tags,
                           repoDigests: [reference.repository + "@" + resolved.resolvedDigest],
                           manifestDigest: resolved.descriptor.digest, config: manifest.config, layers: manifest.layers,
                           chainIDs: chainIDs, user: config.config?.user)
    }

    /// Layers in parallel, at most `parallelLayers` at a time. Each is unpacked while it downloads:
    /// the unpack reads the file the download writes, on its own thread, and waits for more at its
    /// end. A layer already in the content store is unpacked from there.
    func fetchAndUnpack(_ reference: ImageReference, layers: [Descriptor], diffIDs: [String], chainIDs: [String],
                        credentials: RegistryCredentials?) async throws {
        let (client, content, snapshots) = (self.client, self.content, self.snapshots)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                let i = next
                next += 1
                group.addTask { try await self.sharingLayer(chainIDs[i]) {
                    if snapshots.contains(chainIDs[i]) { return }
                    let attempts = UnpackAttempts()
                    do {
                        try await client.fetchBlob(reference, layers[i], into: content, credentials: credentials) { fd, progress in
                            attempts.start(owning: fd) { try snapshots.unpack(blobFD: fd, progress: progress, diffID: diffIDs[i], chainID: chainIDs[i]) }
                        }
                    } catch {
                        await attempts.settle()
                        throw error
                    }
                    // The last attempt read the download that completed; without one, the blob was
                    // already in the store.
                    if try await attempts.lastSucceeded() { return }
                    let blob = content.path(of: layers[i].digest)
                    _ = try await OffPool.run { try snapshots.unpack(blob: blob, diffID: diffIDs[i], chainID: chainIDs[i]) }
                } }
            }
            while next < min(parallelLayers, layers.count) { start() }
            while try await group.next() != nil {
                if next < layers.count { start() }
            }
        }
    }
}

extension ImageManager {
    /// Runs `work` for the layer `chainID` unless another pull is already doing it, in which case
    /// this waits for that one; if it failed (other credentials, say), this pull tries itself.
    func sharingLayer(_ chainID: String, _ work: @escaping @Sendable () async throws -> Void) async throws {
        if let running = layerWork[chainID], (try? await running.value) != nil { return }
        if let running = layerWork[chainID] { _ = await running.result }
        let task = Task { try await work() }
        layerWork[chainID] = task
        defer { if layerWork[chainID] == task { layerWork[chainID] = nil } }
        // A cancelled pull stops its layer downloads. Another pull that waited on one sees it
        // fail and fetches the layer itself, continuing from the bytes already written.
        try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// The unpacks started for one layer, one per download attempt (a failed attempt ends its unpack).
final class UnpackAttempts: Sendable {
    private let tasks = Mutex<[Task<Void, any Error>]>([])

    /// Runs `body`, which closes `fd`, on its own thread; if no thread can be made, `fd` is closed here.
    func start(owning fd: Int32, _ body: @escaping @Sendable () throws -> Void) {
        let task = Task {
            do {
                _ = try await OffPool.run { try body() }
            } catch let error as SystemError where error.operation == "pthread_create" {
                close(fd)
                throw error
            }
        }
        tasks.withLock { $0.append(task) }
    }

    /// Waits for every attempt to end.
    func settle() async {
        for task in tasks.withLock({ $0 }) { _ = await task.result }
    }

    /// Whether an attempt ran; the last one's failure is thrown.
    func lastSucceeded() async throws -> Bool {
        await settle()
        guard let last = tasks.withLock({ $0.last }) else { return false }
        try await last.value
        return true
    }
}
