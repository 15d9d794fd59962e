/// OCI mount options → mount(2) flags. Pure, so the table is unit-tested without root.
public struct MountOptions: Equatable, Sendable {
    public var flags: UInt = 0
    public var clearedFlags: UInt = 0
    public var propagation: UInt = 0
    public var data: [String] = []
    /// MOUNT_ATTR_* set recursively with mount_setattr (`rro`).
    public var recursiveAttributes: UInt64 = 0
    /// `idmap` or `ridmap`: the bind is idmapped (with the mount's mappings, else the container's).
    public var idmap = false
    public var isBind: Bool { flags & MountFlag.bind != 0 }

    /// MOUNT_ATTR_RDONLY.
    public static let recursiveReadOnly: UInt64 = 1

    /// Flags only a remount applies to a bind mount.
    public static func bindRemountFlags(_ flags: UInt) -> UInt {
        flags & ~(MountFlag.bind | MountFlag.rec)
    }

    public enum MountFlag {
        public static let readOnly: UInt = 1, noSUID: UInt = 2, noDev: UInt = 4, noExec: UInt = 8
        public static let synchronous: UInt = 16, remount: UInt = 32, mandLock: UInt = 64, dirSync: UInt = 128
        public static let noSymFollow: UInt = 256, noATime: UInt = 1024, noDirATime: UInt = 2048
        public static let bind: UInt = 4096, rec: UInt = 16384
        public static let unbindable: UInt = 1 << 17, `private`: UInt = 1 << 18, slave: UInt = 1 << 19
        public static let shared: UInt = 1 << 20, relATime: UInt = 1 << 21, strictATime: UInt = 1 << 24
    }

    private static let setting: [String: UInt] = [
        "ro": MountFlag.readOnly, "nosuid": MountFlag.noSUID, "nodev": MountFlag.noDev, "noexec": MountFlag.noExec,
        "sync": MountFlag.synchronous, "dirsync": MountFlag.dirSync, "mand": MountFlag.mandLock,
        "noatime": MountFlag.noATime, "nodiratime": MountFlag.noDirATime, "relatime": MountFlag.relATime,
        "strictatime": MountFlag.strictATime, "nosymfollow": MountFlag.noSymFollow,
        "bind": MountFlag.bind, "rbind": MountFlag.bind | MountFlag.rec,
    ]
    private static let clearing: [String: UInt] = [
        "rw": MountFlag.readOnly, "suid": MountFlag.noSUID, "dev": MountFlag.noDev, "exec": MountFlag.noExec,
        "async": MountFlag.synchronous, "nomand": MountFlag.mandLock, "atime": MountFlag.noATime,
        "diratime": MountFlag.noDirATime, "norelatime": MountFlag.relATime, "nostrictatime": MountFlag.strictATime,
        "symfollow": MountFlag.noSymFollow,
    ]
    private static let propagations: [String: UInt] = [
        "private": MountFlag.private, "rprivate": MountFlag.private | MountFlag.rec,
        "shared": MountFlag.shared, "rshared": MountFlag.shared | MountFlag.rec,
        "slave": MountFlag.slave, "rslave": MountFlag.slave | MountFlag.rec,
        "unbindable": MountFlag.unbindable, "runbindable": MountFlag.unbindable | MountFlag.rec,
    ]
    /// Every option name understood (`features`), filesystem data options aside.
    public static var names: [String] {
        (Array(setting.keys) + Array(clearing.keys) + Array(propagations.keys) + Array(ignored) + ["rro", "idmap", "ridmap"]).sorted()
    }

    /// Options that change nothing Skiff does but that other runtimes' specs carry.
    private static let ignored: Set<String> = ["defaults", "tmpcopyup", "nofail", "auto", "noauto", "_netdev"]

    public struct Unsupported: Error, Equatable, Sendable {
        public let option: String
    }

    public init(_ options: [String]) throws(Unsupported) {
        for option in options {
            if let flag = Self.setting[option] {
                flags |= flag
                clearedFlags &= ~flag
            } else if let flag = Self.clearing[option] {
                flags &= ~flag
                clearedFlags |= flag
            } else if let value = Self.propagations[option] {
                propagation = value
            } else if option == "rro" {
                // Read-only all the way down (kernel 5.12+), for CRI's recursive_read_only.
                recursiveAttributes |= Self.recursiveReadOnly
                flags |= MountFlag.readOnly
            } else if Self.ignored.contains(option) {
                continue
            } else if option == "idmap" || option == "ridmap" {
                idmap = true
            } else if option.hasPrefix("idmap") || option.hasPrefix("ridmap") || option == "remount" {
                throw Unsupported(option: option)
            } else {
                data.append(option)
            }
        }
    }
}
