import LinuxKit

/// What one garbage collection removed.
public struct GarbageReport: Equatable, Sendable {
    public var blobs = 0
    public var snapshots = 0
    /// True when pulls were running and the collection was left for later.
    public var deferred = false

    public init(blobs: Int = 0, snapshots: Int = 0, deferred: Bool = false) {
        self.blobs = blobs
        self.snapshots = snapshots
        self.deferred = deferred
    }
}

/// Garbage collection: blobs and snapshots that no image record names, partial downloads and
/// unpack directories nobody works on. It runs after RemoveImage, never beside a pull: pulls wait
/// for a running collection, and a collection asked for during a pull runs when the last pull ends.
extension ImageManager {
    @discardableResult
    public func collectGarbage() async -> GarbageReport {
        // A running collection chose what to keep before the latest change: wait, then run anew.
        await collectionsFinished()
        guard inflight.isEmpty else {
            garbagePending = true
            return GarbageReport(deferred: true)
        }
        garbagePending = false
        let keepBlobs = Set(records.byID.values.flatMap { [$0.config.digest] + $0.layers.map(\.digest) })
        let keepSnapshots = Set(records.byID.values.flatMap(\.chainIDs))
        let (content, snapshots) = (self.content, self.snapshots)
        let task = Task {
            (try? await OffPool.run {
                var report = GarbageReport()
                for digest in content.digests() where !keepBlobs.contains(digest) {
                    content.delete(digest)
                    report.blobs += 1
                }
                for chainID in snapshots.chainIDs() where !keepSnapshots.contains(chainID) {
                    snapshots.remove(chainID)
                    report.snapshots += 1
                }
                content.removeStaleIngests()
                snapshots.removeStaleUnpacks()
                return report
            }) ?? GarbageReport()
        }
        collecting = task
        let report = await task.value
        if collecting == task { collecting = nil }
        return report
    }

    /// Waits until no collection runs. A finished one is cleared here too: its own caller may not
    /// have resumed yet, and looping on a finished task would never let it.
    func collectionsFinished() async {
        while let running = collecting {
            _ = await running.value
            if collecting == running { collecting = nil }
        }
    }

    /// Called as a pull ends: the collection that waited for it.
    func runPendingCollection() async {
        if garbagePending, inflight.isEmpty { await collectGarbage() }
    }
}
