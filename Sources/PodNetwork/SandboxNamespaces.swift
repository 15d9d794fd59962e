#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxKit

/// A pod's pinned namespaces: `<state>/ns/<pod>/{net,ipc,uts}`, bind mounts of nsfs files that keep
/// each namespace alive with no process in it (no pause container). They are made by
/// `skiff sandbox-pin` in a process of its own, since skiffd never changes namespaces.
public struct SandboxNamespaces: Sendable, Equatable {
    public var directory: String
    public var network: Bool
    public var ipc: Bool
    public var uts: Bool
    /// A pid namespace shared by the pod's containers, held by a `skiff-monitor --pause` as its pid 1.
    public var pid: Bool
    /// The pod's user namespace maps ("0 100000 65536" each), which then owns all the others.
    public var userMaps: (uid: String, gid: String)?

    public init(directory: String, network: Bool, ipc: Bool, uts: Bool, pid: Bool = false, userMaps: (uid: String, gid: String)? = nil) {
        self.directory = directory
        self.network = network
        self.ipc = ipc
        self.uts = uts
        self.pid = pid
        self.userMaps = userMaps
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.directory == b.directory && a.network == b.network && a.ipc == b.ipc && a.uts == b.uts && a.pid == b.pid
            && a.userMaps?.uid == b.userMaps?.uid && a.userMaps?.gid == b.userMaps?.gid
    }

    var holderFile: String { directory + "/pid-holder" }

    /// The holder's pid while it is the process that was started (its start time matches).
    public var pidHolder: Int32? {
        guard pid, let bytes = try? AtomicFile.read(holderFile, limit: 64) else { return nil }
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: " ")
        guard fields.count == 2, let pid = Int32(fields[0]), let start = UInt64(fields[1].trimmingCharacters(in: .newlines)),
              let stat = ProcessStat.read(pid: pid), stat.startTime == start, stat.state != "Z" else { return nil }
        return pid
    }

    /// Where the pod's containers join its pid namespace, while its holder lives.
    public var pidPath: String? { pidHolder.map { "/proc/\($0)/ns/pid" } }

    public var networkPath: String? { network ? directory + "/net" : nil }
    public var ipcPath: String? { ipc ? directory + "/ipc" : nil }
    public var utsPath: String? { uts ? directory + "/uts" : nil }
    public var userPath: String? { userMaps == nil ? nil : directory + "/user" }

    /// Creates and pins them; `sysctls` must be the pod's validated ones (dotted keys). A failure
    /// leaves nothing behind.
    public func pin(skiff: String, hostname: String?, sysctls: [(key: String, value: String)], holder: String? = nil) throws(PodNetworkError) {
        do { try FileSystem.makeDirectories(directory, mode: 0o700) } catch {
            throw .system("cannot create \(directory): \(error)")
        }
        var args = ["sandbox-pin", "--dir", directory]
        if network { args.append("--net") }
        if ipc { args.append("--ipc") }
        if uts { args.append("--uts") }
        if let hostname { args += ["--hostname", hostname] }
        if let userMaps { args += ["--uid-map", userMaps.uid, "--gid-map", userMaps.gid] }
        for (key, value) in sysctls { args += ["--sysctl", "\(key)=\(value)"] }
        if pid {
            guard let holder else { throw .system("a shared pid namespace needs the skiff-monitor program") }
            args += ["--pid-holder", holder]
        }
        let outcome: ChildProcess.Result
        do { outcome = try ChildProcess.run(skiff, args, timeout: 30) } catch {
            unpin()
            throw .system("cannot run \(skiff): \(error)")
        }
        guard outcome.status == 0 else {
            unpin()
            let message = outcome.stderr.trimmingCharacters(in: .newlines)
            if outcome.status == 2 { throw .invalidArgument(field: "linux.sysctls", reason: message) }
            throw .system(message.isEmpty ? "skiff sandbox-pin exited with \(outcome.status)" : message)
        }
        if pid {
            guard let holder = Int32(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), let stat = ProcessStat.read(pid: holder) else {
                unpin()
                throw .system("skiff sandbox-pin did not report its pid holder")
            }
            do { try AtomicFile.write(Array("\(holder) \(stat.startTime)\n".utf8), to: holderFile, mode: 0o600) } catch {
                kill(holder, SIGKILL)
                unpin()
                throw .system("cannot record the pid holder: \(error)")
            }
        }
    }

    /// Unmounts and removes what `pin` made; safe to repeat, and on a half-made directory.
    public func unpin() {
        // The holder first: with it goes everything still in the pod's pid namespace.
        if let holder = pidHolder { kill(holder, SIGKILL) }
        unlink(holderFile)
        // The user namespace last: it owns the others.
        for name in ["net", "ipc", "uts", "user"] {
            let path = directory + "/" + name
            // Detached: a namespace still joined by a container lives on until that container ends.
            while umount2(path, Int32(MNT_DETACH)) == 0 {}
            unlink(path)
        }
        rmdir(directory)
    }
}
