import Synchronization

/// A container or pod sandbox changed state: what `GetContainerEvents` streams. Pod sandboxes send
/// them too, with their own id as the container id, as containerd does (the kubelet's evented PLEG
/// reads both).
public struct LifecycleEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case created, started, stopped, deleted }
    public var kind: Kind
    public var containerID: String
    public var podID: String
    /// Nanoseconds since the epoch.
    public var at: Int64

    public init(kind: Kind, containerID: String, podID: String, at: Int64) {
        self.kind = kind
        self.containerID = containerID
        self.podID = podID
        self.at = at
    }
}

/// Fans lifecycle events out to every subscriber. Publishing never waits: each subscriber has a
/// bounded buffer, and an event that does not fit is dropped for that subscriber only, counted and
/// reported through `warn` (a slow client must not hold up a container's start or stop).
public final class LifecycleEvents: Sendable {
    public static let defaultCapacity = 1024

    private struct State {
        var next: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<LifecycleEvent>.Continuation] = [:]
        var dropped: [UInt64: Int] = [:]
        var droppedTotal = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let warn: @Sendable (String) -> Void

    public init(capacity: Int = LifecycleEvents.defaultCapacity, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.capacity = capacity
        self.warn = warn
    }

    /// A stream of the events published from now on; it ends when the consumer stops iterating.
    public func subscribe() -> AsyncStream<LifecycleEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: LifecycleEvent.self, bufferingPolicy: .bufferingOldest(capacity))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return stream
    }

    public func publish(_ event: LifecycleEvent) {
        let subscribers = state.withLock { $0.subscribers }
        for (id, continuation) in subscribers {
            guard case .dropped = continuation.yield(event) else { continue }
            let (count, total) = state.withLock { state in
                state.dropped[id, default: 0] += 1
                state.droppedTotal += 1
                return (state.dropped[id]!, state.droppedTotal)
            }
            // The first drop and every 100th after it: loud enough, without flooding the log.
            if count == 1 || count % 100 == 0 {
                warn("container events: subscriber \(id) is not keeping up; \(count) events dropped for it (\(total) in all)")
            }
        }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Events dropped for slow subscribers since the daemon started.
    public var droppedCount: Int { state.withLock { $0.droppedTotal } }

    private func unsubscribe(_ id: UInt64) {
        state.withLock { state in
            state.subscribers[id] = nil
            state.dropped[id] = nil
        }
    }
}
