import JSONCoding

/// Kubernetes' remote-command protocols (exec and attach): which one a client asked for, and what
/// goes on their error and resize streams.
public enum RemoteCommandProtocol: String, Sendable, CaseIterable {
    case v1 = "channel.k8s.io"
    case v2 = "v2.channel.k8s.io"
    case v3 = "v3.channel.k8s.io"
    case v4 = "v4.channel.k8s.io"
    case v5 = "v5.channel.k8s.io"
    case base64 = "base64.channel.k8s.io"
    case v4Base64 = "v4.base64.channel.k8s.io"

    /// Over SPDY, as the kubelet's own server: v5 is a WebSocket protocol, and a client offering it
    /// offers v4 too.
    public static let spdy: [RemoteCommandProtocol] = [.v4, .v3, .v2, .v1]
    /// Over WebSocket: v5 (stdin's close signal) as client-go 1.30+ and crictl send it, and the
    /// older names. A request naming none gets `channel.k8s.io`'s binary framing.
    public static let webSocket: [RemoteCommandProtocol] = [.v5, .v4, .v4Base64, .v1, .base64]

    /// The first protocol in the client's order that `supported` has (headers may also list several
    /// values separated by commas).
    public static func negotiate(_ offered: [String], _ supported: [RemoteCommandProtocol]) -> RemoteCommandProtocol? {
        for value in offered.flatMap({ $0.split(separator: ",") }) {
            if let known = RemoteCommandProtocol(rawValue: value.trimmingSpaces()), supported.contains(known) { return known }
        }
        return nil
    }

    /// v4 and v5 report a JSON Status with the exit code; older ones a plain message, none on success.
    public var jsonStatus: Bool { self == .v4 || self == .v5 || self == .v4Base64 }
    /// v3 and later carry a resize stream.
    public var resizes: Bool { self != .v1 && self != .v2 && self != .base64 }
    public var base64Text: Bool { self == .base64 || self == .v4Base64 }
}

/// How an exec or attach ended, as the error stream tells the client.
public enum RemoteCommandOutcome: Equatable, Sendable {
    case exited(Int32)
    case failed(String)

    /// The bytes for the error stream; empty means success to every version.
    public func errorStream(_ version: RemoteCommandProtocol) -> [UInt8] {
        guard version.jsonStatus else {
            switch self {
            case .exited(0): return []
            case .exited(let code): return Array("command terminated with non-zero exit code: exit status \(code)".utf8)
            case .failed(let message): return Array(message.utf8)
            }
        }
        switch self {
        case .exited(0):
            return Array(#"{"metadata":{},"status":"Success"}"#.utf8)
        case .exited(let code):
            // A client parses the code as 0...255; a signal death is reported as 128 + the signal.
            let shown = code < 0 || code > 255 ? 255 : code
            return Array(("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: exit status \(shown)\","
                + "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"\(shown)\"}]}}").utf8)
        case .failed(let message):
            return Array(("{\"metadata\":{},\"status\":\"Failure\",\"message\":\(JSONEncoding.quoted("Internal error occurred: " + message)),"
                + "\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":\(JSONEncoding.quoted(message))}]},\"code\":500}").utf8)
        }
    }
}

/// A terminal size from the resize stream.
public struct TerminalSize: Equatable, Sendable {
    public var width: UInt16
    public var height: UInt16
    public init(width: UInt16, height: UInt16) { (self.width, self.height) = (width, height) }
}

/// The resize stream: JSON objects one after another (`{"Width":80,"Height":24}`, Go's encoder
/// adds a newline), keys matched without case as Go's decoder does. Bytes come in any pieces; a
/// stream that is not such objects, or an object grown beyond a few hundred bytes, is an error and
/// the caller stops reading it.
public struct ResizeDecoder {
    private var pending: [UInt8] = []

    public init() {}

    public struct Malformed: Error {}

    public mutating func feed(_ bytes: [UInt8]) throws(Malformed) -> [TerminalSize] {
        pending += bytes
        var sizes: [TerminalSize] = []
        while let close = pending.firstIndex(of: UInt8(ascii: "}")) {
            let object = pending[...close]
            pending.removeFirst(close + 1)
            let text = String(decoding: object, as: UTF8.self)
            guard case .object(let fields)? = try? JSONValue.parse(text) else { throw Malformed() }
            func value(_ key: String) -> UInt16? {
                guard case .number(let digits)? = fields.first(where: { $0.key.lowercased() == key })?.value else { return nil }
                return UInt16(digits)
            }
            if let width = value("width"), let height = value("height") { sizes.append(TerminalSize(width: width, height: height)) }
        }
        guard pending.count <= 256 else { throw Malformed() }
        return sizes
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
