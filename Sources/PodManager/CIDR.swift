#if canImport(Glibc)
import Glibc
#endif

/// An IP network in CIDR notation, validated with the C library's own address parser.
public struct CIDR: Equatable, Sendable, CustomStringConvertible {
    public let address: String
    public let prefixLength: Int
    public let isIPv6: Bool

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy({ $0 >= "0" && $0 <= "9" }),
            let length = Int(parts[1]) else { return nil }
        let address = String(parts[0])
        // C reads up to the first NUL: what it would validate is not the whole text.
        guard !address.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            guard (0...32).contains(length) else { return nil }
            isIPv6 = false
        } else if inet_pton(AF_INET6, address, &v6) == 1 {
            guard (0...128).contains(length) else { return nil }
            isIPv6 = true
        } else {
            return nil
        }
        self.address = address
        self.prefixLength = length
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
