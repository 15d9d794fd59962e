import CRIAPI
import GRPCCore
import PodManager

// GetContainerEvents: every lifecycle event from the subscription on, with the pod's status and its
// containers' statuses as they are when the event is sent (the kubelet's evented PLEG reads those).
extension RuntimeServiceAdapter {
    public func getContainerEvents(request: Runtime_V1_GetEventsRequest, response: RPCWriter<Runtime_V1_ContainerEventResponse>,
                                   context: ServerContext) async throws {
        let events = await pods.events.subscribe()
        let sending = Task {
            for await event in events {
                try await response.write(await reply(event))
            }
        }
        // A client that goes away ends the subscription (its buffer is freed with it).
        try await withRPCCancellationHandler {
            try await withTaskCancellationHandler { try await sending.value } onCancel: { sending.cancel() }
        } onCancelRPC: {
            sending.cancel()
        }
    }

    func reply(_ event: LifecycleEvent) async -> Runtime_V1_ContainerEventResponse {
        let pod = try? await pods.status(event.podID)
        let members = await containers.list().filter { $0.podID == event.podID }
        return .with { reply in
            reply.containerID = event.containerID
            reply.createdAt = event.at
            reply.containerEventType = switch event.kind {
            case .created: .containerCreatedEvent
            case .started: .containerStartedEvent
            case .stopped: .containerStoppedEvent
            case .deleted: .containerDeletedEvent
            }
            if let pod { reply.podSandboxStatus = Self.status(pod) }
            reply.containersStatuses = members.map(Self.status)
        }
    }
}
