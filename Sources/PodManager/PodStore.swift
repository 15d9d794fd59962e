#if canImport(Glibc)
import Glibc
#endif
import JSONCoding
import LinuxKit

/// The pod records on disk: durable under `<root>/pods/<id>/pod.json` (each write atomic and
/// synced), volatile files (hostname, resolv.conf) under `<state>/pods/<id>`, pinned namespaces
/// under `<state>/ns/<id>`.
public struct PodStore: Sendable {
    public let root: String
    public let state: String

    public init(root: String, state: String) {
        self.root = root
        self.state = state
    }

    public func recordDirectory(_ id: String) -> String { root + "/pods/" + id }
    public func volatileDirectory(_ id: String) -> String { state + "/pods/" + id }
    public func namespacesDirectory(_ id: String) -> String { state + "/ns/" + id }

    public func save(_ record: PodSandboxRecord) throws(PodManagerError) {
        do {
            try FileSystem.makeDirectories(recordDirectory(record.id), mode: 0o700)
            try AtomicFile.write(JSONEncoding.encode(record, pretty: true), to: recordDirectory(record.id) + "/pod.json", mode: 0o600)
        } catch let error as SystemError {
            throw .system(error)
        } catch {
            throw .system(SystemError("save pod \(record.id): \(error)", errno: EIO))
        }
    }

    /// Every record that can be read; one that cannot is reported, not fatal.
    public func loadAll(warn: (String) -> Void) -> [PodSandboxRecord] {
        FileSystem.directoryEntries(root + "/pods").sorted().compactMap { id in
            let path = recordDirectory(id) + "/pod.json"
            do {
                return try JSONDecoding.decode(PodSandboxRecord.self, from: AtomicFile.read(path, limit: 4 << 20))
            } catch {
                warn("cannot read the pod record \(path): \(error)")
                return nil
            }
        }
    }

    /// The record and the pod's volatile files.
    public func remove(_ id: String) throws(PodManagerError) {
        do {
            try FileSystem.removeTree(volatileDirectory(id))
            try FileSystem.removeTree(recordDirectory(id))
        } catch {
            throw .system(error)
        }
    }
}
