import CRIAPI
import GRPCCore
import GRPCNIOTransportHTTP2

/// A connected CRI client: both services over one HTTP/2 connection to the runtime's socket.
public struct CRIClient: Sendable {
    public typealias Transport = HTTP2ClientTransport.Posix

    public let runtime: Runtime_V1_RuntimeService.Client<Transport>
    public let image: Runtime_V1_ImageService.Client<Transport>
    /// The untyped client underneath, for calls by method descriptor.
    public let raw: GRPCClient<Transport>
    /// Options for every call: the deadline the user asked for (none when nil).
    public let options: CallOptions

    /// Connects to `endpoint`, runs `body`, and closes the connection.
    public static func with<Result: Sendable>(
        endpoint: CRIEndpoint,
        timeout: Duration? = .seconds(10),
        _ body: (CRIClient) async throws -> Result
    ) async throws -> Result {
        let transport = try HTTP2ClientTransport.Posix(
            target: .unixDomainSocket(path: endpoint.socketPath),
            transportSecurity: .plaintext
        )
        return try await withGRPCClient(transport: transport) { client in
            var options = CallOptions.defaults
            options.timeout = timeout
            let cri = CRIClient(
                runtime: Runtime_V1_RuntimeService.Client(wrapping: client),
                image: Runtime_V1_ImageService.Client(wrapping: client),
                raw: client,
                options: options
            )
            return try await body(cri)
        }
    }
}
