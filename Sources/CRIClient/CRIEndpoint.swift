/// A CRI endpoint as crictl and the kubelet spell it: `unix:///run/skiff/skiff.sock` or a bare path.
public struct CRIEndpoint: Equatable, Sendable, CustomStringConvertible {
    public let socketPath: String

    public static let defaultPath = "/run/skiff/skiff.sock"

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let endpoint: String
        public let reason: String
        public var description: String { "invalid endpoint '\(endpoint)': \(reason)" }
    }

    public init(_ text: String) throws(Invalid) {
        var path = text
        if let range = text.range(of: "://") {
            let scheme = text[..<range.lowerBound]
            guard scheme == "unix" else {
                throw Invalid(endpoint: text, reason: "only unix:// endpoints are supported")
            }
            path = String(text[range.upperBound...])
        }
        guard path.hasPrefix("/") else { throw Invalid(endpoint: text, reason: "the socket path must be absolute") }
        socketPath = path
    }

    public var description: String { "unix://" + socketPath }
}
