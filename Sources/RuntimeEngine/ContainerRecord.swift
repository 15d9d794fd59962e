#if canImport(Glibc)
import Glibc
#endif
import JSONCoding
import Cgroups
import LinuxKit
import OCI

/// What `skiff` remembers about a container, in `<root>/<id>/state.json` (written atomically).
/// The pid's start time tells a live init from a recycled pid after a reboot or a long time.
public struct ContainerRecord: Codable, Equatable, Sendable {
    public static let currentVersion = 1

    public var version = ContainerRecord.currentVersion
    public var id: String
    public var bundle: String
    public var rootfs: String
    public var pid: Int32
    public var pidStartTime: UInt64
    public var created: String
    public var annotations: [String: String]?
    /// Absolute path of the container's cgroup directory, if it has one.
    public var cgroupPath: String?
    public var hooks: RuntimeSpec.Hooks?
    /// The transient scope holding the cgroup, under the systemd driver.
    public var systemdUnit: String? = nil
}

/// The directory of container records (`--root`, default /run/skiff/runtime).
public struct ContainerStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func directory(_ id: String) -> String { root + "/" + id }
    public func fifoPath(_ id: String) -> String { directory(id) + "/exec.fifo" }
    /// The config.json the container was created from (exec starts from its process and seccomp).
    public func specPath(_ id: String) -> String { directory(id) + "/config.json" }

    /// Container ids become directory names: keep them to a safe alphabet, as runc does.
    public static func validate(id: String) throws(RuntimeError) {
        let ok = !id.isEmpty && id.utf8.count <= 1024 && id != "." && id != ".."
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            }
        guard ok else { throw .invalidID(id) }
    }

    public func load(_ id: String) throws(RuntimeError) -> ContainerRecord {
        try Self.validate(id: id)
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(directory(id) + "/state.json")
        } catch {
            if error.errno == ENOENT { throw .notFound(id: id) }
            throw .system(error)
        }
        do {
            return try JSONDecoding.decode(ContainerRecord.self, from: bytes)
        } catch {
            throw .system(SystemError("decode state.json of \(id)", errno: EINVAL))
        }
    }

    public func save(_ record: ContainerRecord) throws(RuntimeError) {
        let data: [UInt8]
        do {
            data = try JSONEncoding.encode(record)
        } catch {
            throw .system(SystemError("encode state.json", errno: EINVAL))
        }
        do {
            // Volatile like the containers it describes: atomic, not fsynced.
            try AtomicFile.write(data, to: directory(record.id) + "/state.json", mode: 0o600, durable: false)
        } catch {
            throw .system(error)
        }
    }

    /// Ids of every container with a record, sorted.
    public func ids() -> [String] {
        FileSystem.directoryEntries(root).filter { FileSystem.exists(directory($0) + "/state.json") }.sorted()
    }

    /// The OCI status, from the process and the exec FIFO: `created` until `start` removed the FIFO.
    public func status(of record: ContainerRecord) -> ContainerState.Status {
        guard let stat = ProcessStat.read(pid: record.pid), stat.startTime == record.pidStartTime,
            stat.state != "Z", stat.state != "X"
        else { return .stopped }
        if let dir = record.cgroupPath, let cgroups = try? CgroupV2.mounted(), cgroups.isFrozen(dir) { return .paused }
        return FileSystem.exists(fifoPath(record.id)) ? .created : .running
    }

    public func state(of record: ContainerRecord) -> ContainerState {
        let status = status(of: record)
        return ContainerState(id: record.id, pid: status == .stopped ? 0 : record.pid, status: status,
                              bundle: record.bundle, rootfs: record.rootfs, created: record.created,
                              annotations: record.annotations)
    }
}
