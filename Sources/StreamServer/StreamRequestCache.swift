import LinuxKit
import Synchronization

/// What a URL from Exec, Attach or PortForward stands for: the validated CRI request, kept until
/// its client connects (the query string a kubelet adds is ignored, as its own server does).
public enum StreamRequest: Sendable, Equatable {
    case exec(containerID: String, cmd: [String], tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool)
    case attach(containerID: String, tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool)
    case portForward(sandboxID: String, ports: [UInt16])

    /// The URL's first path segment.
    public var kind: String {
        switch self {
        case .exec: "exec"
        case .attach: "attach"
        case .portForward: "portforward"
        }
    }
}

/// Single-use tokens for stream requests, as the kubelet's streaming library keeps them: 8 URL-safe
/// characters from 6 random bytes, valid for a minute, at most 1000 waiting. A token is gone once
/// presented, whether or not its connection then upgrades.
public final class StreamRequestCache: Sendable {
    public struct Full: Error, CustomStringConvertible {
        public var description: String { "maximum number of in-flight stream requests exceeded" }
    }

    public static let lifetime: UInt64 = 60_000
    public static let capacity = 1000
    private let entries = Mutex<[String: (request: StreamRequest, expires: UInt64)]>([:])
    private let now: @Sendable () -> UInt64

    /// `now`: monotonic milliseconds; tests pass their own clock.
    public init(now: @escaping @Sendable () -> UInt64 = { UInt64(WallClock.monotonicMilliseconds()) }) {
        self.now = now
    }

    public func insert(_ request: StreamRequest) throws(Full) -> String {
        let now = now()
        return try entries.withLock { entries throws(Full) in
            entries = entries.filter { $0.value.expires > now }
            guard entries.count < Self.capacity else { throw Full() }
            var token: String
            repeat { token = Self.newToken() } while entries[token] != nil
            entries[token] = (request, now + Self.lifetime)
            return token
        }
    }

    /// The request behind `token` if it is of `kind` and has not expired; the token is used up either way.
    public func consume(_ token: String, kind: String) -> StreamRequest? {
        let now = now()
        guard let entry = entries.withLock({ $0.removeValue(forKey: token) }), entry.expires > now, entry.request.kind == kind else { return nil }
        return entry.request
    }

    private static func newToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var random = SystemRandomNumberGenerator()
        // 6 random bytes are 48 bits: eight 6-bit characters.
        let bits = random.next() & 0xffff_ffff_ffff
        return String((0..<8).map { alphabet[Int((bits >> (6 * UInt64($0))) & 63)] })
    }
}
