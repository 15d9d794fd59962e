#if canImport(Glibc)
import Glibc
#endif

/// How much of a blob being downloaded is on disk, shared between the download (which advances
/// it) and an unpack reading the same file on its own thread (which waits on it). This is what
/// lets a layer be decompressed and extracted while it is still arriving.
public final class BlobProgress: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var written: Int64 = 0
    private var state = State.running

    enum State { case running, complete, failed }

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        changed.deallocate()
    }

    func advance(to count: Int64) {
        update { $0.written = count }
    }

    /// The download ended: verified (`true`), or aborted (`false`, and readers stop).
    func finish(verified: Bool) {
        update { if $0.state == .running { $0.state = verified ? .complete : .failed } }
    }

    /// Blocks until more than `offset` bytes are on disk (1), or the blob ended at `offset` (0), or
    /// the download failed (-1): cs_unpack_wait_fn's contract.
    func wait(beyond offset: Int64) -> Int32 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while written <= offset, state == .running { pthread_cond_wait(changed, mutex) }
        if state == .failed { return -1 }
        return written > offset ? 1 : 0
    }

    private func update(_ body: (BlobProgress) -> Void) {
        pthread_mutex_lock(mutex)
        body(self)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}
