import CRIAPI
import GRPCCore
import Testing

/// Sends and receives raw bytes: an empty protobuf message is valid for every request type.
struct RawBytesCoder: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
        bytes.withUnsafeBytes { Array($0) }
    }
}

/// Every RPC of both CRI services is routed: it either works or answers UNIMPLEMENTED naming itself
/// (a method missing from the router would also be UNIMPLEMENTED, but without that message).
@Suite struct ServedRPCTests {
    static let implemented: Set<String> = ["Version", "Status", "RuntimeConfig", "UpdateRuntimeConfig", "ImageFsInfo", "ListImages",
                                           "ListPodSandbox", "ListContainers", "ListContainerStats", "ListPodSandboxStats",
                                           "ListMetricDescriptors", "ListPodSandboxMetrics"]
    /// Served, and an empty request is refused for what it lacks, with this message.
    static let validated: [String: String] = [
        "PullImage": "invalid image.image: required", "ImageStatus": "invalid image.image: required",
        "RemoveImage": "invalid image.image: required",
        "RunPodSandbox": "invalid metadata.name: 1 to 253 bytes without control characters",
        "StopPodSandbox": "invalid pod_sandbox_id: required", "RemovePodSandbox": "invalid pod_sandbox_id: required",
        "PodSandboxStatus": "invalid pod_sandbox_id: required",
        "CreateContainer": "invalid config.metadata.name: 1 to 253 bytes, no '/' or control characters",
        "StartContainer": "invalid container_id: required", "StopContainer": "invalid container_id: required",
        "RemoveContainer": "invalid container_id: required", "ContainerStatus": "invalid container_id: required",
        "ReopenContainerLog": "invalid container_id: required", "UpdateContainerResources": "invalid container_id: required",
        "ExecSync": "invalid container_id: required", "ContainerStats": "invalid container_id: required",
        "PodSandboxStats": "invalid pod_sandbox_id: required",
        "Exec": "invalid container_id: missing required container_id", "Attach": "invalid container_id: missing required container_id",
        "PortForward": "invalid pod_sandbox_id: missing required pod_sandbox_id",
    ]

    @Test func allFortyOneRPCsAreServed() async throws {
        let methods = Runtime_V1_RuntimeService.Method.descriptors + Runtime_V1_ImageService.Method.descriptors
        #expect(Runtime_V1_RuntimeService.Method.descriptors.count == 35)
        #expect(Runtime_V1_ImageService.Method.descriptors.count == 6)
        let daemon = try await DaemonHarness()
        try await daemon.withClient { cri in
            for method in methods {
                let outcome = await call(cri.raw, method, options: cri.options)
                if method.method == "GetContainerEvents" {
                    // A subscription stays open until the client goes: the deadline ends it.
                    #expect(outcome?.code == .deadlineExceeded, "GetContainerEvents: \(String(describing: outcome))")
                } else if Self.implemented.contains(method.method) {
                    #expect(outcome == nil, "\(method.method) failed: \(String(describing: outcome))")
                } else if let message = Self.validated[method.method] {
                    #expect(outcome?.code == .invalidArgument, "\(method.method): \(String(describing: outcome))")
                    #expect(outcome?.message == message)
                } else {
                    #expect(outcome?.code == .unimplemented, "\(method.method): \(String(describing: outcome))")
                    #expect(outcome?.message.hasPrefix("\(method.method) is not implemented") == true)
                }
            }
            // The check above can tell a routed method from a missing one.
            let missing = MethodDescriptor(fullyQualifiedService: "runtime.v1.RuntimeService", method: "NoSuchCall")
            let outcome = await call(cri.raw, missing, options: cri.options)
            #expect(outcome?.code == .unimplemented)
            #expect(outcome?.message.hasPrefix("NoSuchCall is not implemented") == false)
        }
    }

    /// Calls `method` with an empty request; nil means success.
    private func call<T: ClientTransport>(
        _ client: GRPCClient<T>, _ method: MethodDescriptor, options: CallOptions
    ) async -> RPCError? {
        let streaming = method.method.hasPrefix("Stream") || method.method == "GetContainerEvents"
        var options = options
        if method.method == "GetContainerEvents" { options.timeout = .milliseconds(500) }
        do {
            if streaming {
                try await client.serverStreaming(
                    request: ClientRequest(message: []), descriptor: method, serializer: RawBytesCoder(),
                    deserializer: RawBytesCoder(), options: options
                ) { response in
                    for try await _ in response.messages {}
                }
            } else {
                _ = try await client.unary(
                    request: ClientRequest(message: []), descriptor: method, serializer: RawBytesCoder(),
                    deserializer: RawBytesCoder(), options: options
                ) { try $0.message }
            }
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError(code: .unknown, message: "\(error)")
        }
    }
}
