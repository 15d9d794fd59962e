#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a layer unpack, a child process) on a thread of its own and awaits it.
/// Swift's cooperative pool has one thread per core: two blocking calls on it stall every other
/// task of the process, gRPC handlers included.
public enum OffPool {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Unmanaged.passRetained(Work { continuation.resume(with: Result { try body() }) })
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { context in
                let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
                work.body()
                return nil
            }, work.toOpaque())
            if rc == 0 {
                pthread_detach(thread)
            } else {
                work.release()
                continuation.resume(throwing: SystemError("pthread_create", errno: rc))
            }
        }
    }

    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
