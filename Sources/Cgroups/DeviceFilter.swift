import OCI

/// `linux.resources.devices` with the semantics of the cgroup v1 devices controller (which runc's
/// emulator reproduces for v2): an `a` rule resets the list (deny: allow-list mode, allow:
/// deny-list mode); other rules add or remove access for one (type, major, minor), wildcards
/// allowed. The result is what the BPF program (`DeviceFilterProgram`) checks each open and mknod
/// against. Pure, so every rule set is unit-tested without root.
public struct DeviceFilter: Equatable, Sendable {
    public enum Kind: UInt32, Sendable, Comparable {
        // The kernel's BPF_DEVCG_DEV_* values.
        case block = 1, char = 2
        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    /// BPF_DEVCG_ACC_* bits.
    public struct Access: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let mknod = Access(rawValue: 1), read = Access(rawValue: 2), write = Access(rawValue: 4)
        public static let all: Access = [.mknod, .read, .write]
    }

    public struct Key: Hashable, Sendable, Comparable {
        /// nil: both kinds. major/minor nil: any.
        public var kind: Kind?
        public var major: UInt32?
        public var minor: UInt32?

        public static func < (a: Key, b: Key) -> Bool {
            func order(_ v: UInt32?) -> Int64 { v.map(Int64.init) ?? -1 }
            return (order(a.major), order(a.minor), Int64(a.kind?.rawValue ?? 0)) < (order(b.major), order(b.minor), Int64(b.kind?.rawValue ?? 0))
        }
    }

    /// What happens to a device no entry matches.
    public var defaultAllow: Bool
    /// Exceptions to the default: allowed access in allow-list mode, denied access otherwise.
    public var entries: [Key: Access]

    /// Devices every container may use, as runc allows them (after the spec's own rules): mknod
    /// of anything (the node is useless without the next rules), and the standard character
    /// devices, ptys and tun/tap.
    public static let defaultRules: [RuntimeSpec.DeviceRule] = [
        ("c", nil, nil, "m"), ("b", nil, nil, "m"), ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"),
        ("c", 5, 0, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"), ("c", 136, nil, "rwm"), ("c", 5, 2, "rwm"),
        ("c", 10, 200, "rwm"),
    ].map { RuntimeSpec.DeviceRule(allow: true, type: $0.0, major: $0.1, minor: $0.2, access: $0.3) }

    public struct InvalidRule: Error, Equatable, Sendable {
        public let index: Int
        public let reason: String
    }

    /// The filter for a container: the spec's rules, then `defaultRules`, from a deny-all start.
    public static func container(_ rules: [RuntimeSpec.DeviceRule]?) throws(InvalidRule) -> DeviceFilter {
        var filter = DeviceFilter(defaultAllow: false, entries: [:])
        for (index, rule) in (rules ?? []).enumerated() { try filter.apply(rule, index: index) }
        for rule in defaultRules { try filter.apply(rule, index: -1) }
        return filter
    }

    mutating func apply(_ rule: RuntimeSpec.DeviceRule, index: Int) throws(InvalidRule) {
        let kind: Kind?
        switch rule.type ?? "a" {
        case "a": kind = nil
        case "b": kind = .block
        case "c", "u": kind = .char
        default: throw InvalidRule(index: index, reason: "type '\(rule.type ?? "")' is not a, b or c")
        }
        func number(_ value: Int64?, _ name: String) throws(InvalidRule) -> UInt32? {
            guard let value, value != -1 else { return nil }
            // The program compares against a sign-extended 32-bit immediate.
            guard (0...Int64(Int32.max)).contains(value) else { throw InvalidRule(index: index, reason: "\(name) \(value) is out of range") }
            return UInt32(value)
        }
        let key = Key(kind: kind, major: try number(rule.major, "major"), minor: try number(rule.minor, "minor"))
        var access: Access = []
        for letter in rule.access ?? "rwm" {
            switch letter {
            case "r": access.insert(.read)
            case "w": access.insert(.write)
            case "m": access.insert(.mknod)
            default: throw InvalidRule(index: index, reason: "access '\(rule.access ?? "")' is not a subset of rwm")
            }
        }
        guard !access.isEmpty else { throw InvalidRule(index: index, reason: "access is empty") }
        if kind == nil && key.major == nil && key.minor == nil && access == .all {
            // "a *:* rwm" resets: deny means allow-list mode, allow means deny-list mode.
            defaultAllow = rule.allow
            entries = [:]
            return
        }
        // An exception adds to the list when it goes against the default, and takes away otherwise.
        if rule.allow != defaultAllow {
            entries[key, default: []].formUnion(access)
        } else if var existing = entries[key] {
            existing.subtract(access)
            entries[key] = existing.isEmpty ? nil : existing
        }
    }
}
