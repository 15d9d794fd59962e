import CRIAPI
import CRIClient
import Foundation
import GRPCCore
import Testing

/// GetContainerEvents against a real skiffd: one container's whole life, as a subscriber sees it.
@Suite(.enabled(if: getuid() == 0, "needs root for containers"), .serialized)
struct ContainerEventsTests {
    @Test func aSubscriberSeesCreatedStartedStoppedAndDeletedWithStatuses() async throws {
        let node = try await ContainerTests.Node()
        let endpoint = node.daemon.endpoint
        let subscription = Task {
            try await CRIClient.with(endpoint: endpoint, timeout: .seconds(30)) { cri in
                try await cri.runtime.getContainerEvents(Runtime_V1_GetEventsRequest(), options: cri.options) { response in
                    var seen: [Runtime_V1_ContainerEventResponse] = []
                    for try await event in response.messages {
                        seen.append(event)
                        if event.containerEventType == .containerDeletedEvent { break }
                    }
                    return seen
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))   // the subscription is in place
        let id = try await node.create("brief", "exit 3")
        _ = try await node.daemon.withClient { try await $0.runtime.startContainer(.with { $0.containerID = id }, options: $0.options) }
        // Nobody asks for its status: the exit reaches the subscriber through the daemon's watch.
        try await Task.sleep(for: .milliseconds(2500))
        _ = try await node.daemon.withClient { try await $0.runtime.removeContainer(.with { $0.containerID = id }, options: $0.options) }
        let events = try await subscription.value.filter { $0.containerID == id }
        #expect(events.map(\.containerEventType) == [.containerCreatedEvent, .containerStartedEvent, .containerStoppedEvent, .containerDeletedEvent])
        #expect(events.allSatisfy { $0.podSandboxStatus.id == node.pod && $0.createdAt > 0 })
        let stopped = events.first { $0.containerEventType == .containerStoppedEvent }
        let status = stopped?.containersStatuses.first { $0.id == id }
        #expect(status?.state == .containerExited && status?.exitCode == 3, "\(String(describing: stopped))")
        #expect(events.last?.containersStatuses.contains { $0.id == id } == false, "a deleted container is no longer listed")
    }
}
