import Synchronization
import Testing
@testable import PodManager

@Suite struct LifecycleEventsTests {
    func event(_ n: Int) -> LifecycleEvent { LifecycleEvent(kind: .started, containerID: "c\(n)", podID: "p", at: Int64(n)) }

    @Test func everySubscriberGetsEveryEventInOrder() async {
        let hub = LifecycleEvents()
        let a = hub.subscribe(), b = hub.subscribe()
        #expect(hub.subscriberCount == 2)
        for n in 1...3 { hub.publish(event(n)) }
        var ia = a.makeAsyncIterator(), ib = b.makeAsyncIterator()
        for n in 1...3 {
            #expect(await ia.next() == event(n))
            #expect(await ib.next() == event(n))
        }
    }

    @Test func aSlowSubscriberLosesEventsCountedAndReportedWithoutHoldingUpOthers() async {
        let warnings = Mutex<[String]>([])
        let hub = LifecycleEvents(capacity: 2) { message in warnings.withLock { $0.append(message) } }
        let slow = hub.subscribe()
        for n in 1...5 { hub.publish(event(n)) }   // returns at once although nobody reads
        #expect(hub.droppedCount == 3)
        #expect(warnings.withLock { $0.count } == 1 && warnings.withLock { $0[0] }.contains("1 events dropped"))
        var it = slow.makeAsyncIterator()
        #expect(await it.next() == event(1))
        #expect(await it.next() == event(2))
        // A fresh subscriber starts with an empty buffer.
        let fresh = hub.subscribe()
        hub.publish(event(6))
        var itf = fresh.makeAsyncIterator()
        #expect(await itf.next() == event(6))
    }

    @Test func aFinishedSubscriptionIsForgotten() async {
        let hub = LifecycleEvents()
        do {
            let stream = hub.subscribe()
            let task = Task { for await _ in stream {} }
            task.cancel()
            await task.value
        }
        for _ in 0..<100 where hub.subscriberCount > 0 { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(hub.subscriberCount == 0)
    }
}
