/// The image's /etc/passwd and /etc/group, read by the caller from the container's rootfs (inside
/// the root, never following a link out of it) and parsed here: names to ids, as runc's user
/// package and containerd resolve them.
public struct UserDatabase: Sendable, Equatable {
    struct Passwd: Equatable { let name: String; let uid: UInt32; let gid: UInt32 }
    struct Group: Equatable { let name: String; let gid: UInt32; let members: [String] }

    var users: [Passwd] = []
    var groups: [Group] = []

    public init(passwd: String = "", group: String = "") {
        users = Self.lines(passwd).compactMap { fields in
            guard fields.count >= 4, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
            return Passwd(name: fields[0], uid: uid, gid: gid)
        }
        groups = Self.lines(group).compactMap { fields in
            guard fields.count >= 3, let gid = UInt32(fields[2]) else { return nil }
            let members = fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []
            return Group(name: fields[0], gid: gid, members: members)
        }
    }

    private static func lines(_ text: String) -> [[String]] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }

    /// `user` as an image or CRI gives it: `name`, `uid`, `name:group`, `uid:gid`... The primary gid
    /// of a numeric uid missing from passwd is 0, as in runc.
    func resolve(_ spec: String) throws(SpecError) -> (uid: UInt32, gid: UInt32, name: String?) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0]
        var uid: UInt32, gid: UInt32, name: String?
        if let number = UInt32(userPart) {
            uid = number
            let entry = users.first { $0.uid == number }
            gid = entry?.gid ?? 0
            name = entry?.name
        } else if let entry = users.first(where: { $0.name == userPart }) {
            (uid, gid, name) = (entry.uid, entry.gid, entry.name)
        } else {
            throw .invalid(field: "user", reason: "no user \"\(userPart)\" in the image's /etc/passwd")
        }
        if parts.count == 2 {
            if let number = UInt32(parts[1]) {
                gid = number
            } else if let group = groups.first(where: { $0.name == parts[1] }) {
                gid = group.gid
            } else {
                throw .invalid(field: "user", reason: "no group \"\(parts[1])\" in the image's /etc/group")
            }
        }
        return (uid, gid, name)
    }

    /// The groups /etc/group lists the user in (CRI's SupplementalGroupsPolicy Merge).
    func memberships(of name: String?) -> [UInt32] {
        guard let name else { return [] }
        return groups.filter { $0.members.contains(name) }.map(\.gid)
    }
}

/// Why a container's config cannot become a runtime spec.
public enum SpecError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(field: String, reason: String)
    /// Something CRI allows that this node cannot provide (a seccomp profile it lacks).
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "invalid \(field): \(reason)"
        case .unavailable(let what): what
        }
    }
}
