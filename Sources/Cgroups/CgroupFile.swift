/// One interface file to write in a container's cgroup, and the controller it needs.
public struct CgroupFile: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// `memory.max` needs `memory`; core files (`cgroup.*`) need none.
    public var controller: String? {
        guard let dot = name.firstIndex(of: "."), !name.hasPrefix("cgroup.") else { return nil }
        return String(name[..<dot])
    }
}
