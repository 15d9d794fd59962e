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

    public init(directory: String, network: Bool, ipc: Bool, uts: Bool) {
        self.directory = directory
        self.network = network
        self.ipc = ipc
        self.uts = uts
    }

    public var networkPath: String? { network ? directory + "/net" : nil }
    public var ipcPath: String? { ipc ? directory + "/ipc" : nil }
    public var utsPath: String? { uts ? directory + "/uts" : nil }

    /// Creates and pins them; `sysctls` must be the pod's validated ones (dotted keys). A failure
    /// leaves nothing behind.
    public func pin(skiff: String, hostname: String?, sysctls: [(key: String, value: String)]) throws(PodNetworkError) {
        do { try FileSystem.makeDirectories(directory, mode: 0o700) } catch {
            throw .system("cannot create \(directory): \(error)")
        }
        var args = ["sandbox-pin", "--dir", directory]
        if network { args.append("--net") }
        if ipc { args.append("--ipc") }
        if uts { args.append("--uts") }
        if let hostname { args += ["--hostname", hostname] }
        for (key, value) in sysctls { args += ["--sysctl", "\(key)=\(value)"] }
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
    }

    /// Unmounts and removes what `pin` made; safe to repeat, and on a half-made directory.
    public func unpin() {
        for name in ["net", "ipc", "uts"] {
            let path = directory + "/" + name
            // Detached: a namespace still joined by a container lives on until that container ends.
            while umount2(path, Int32(MNT_DETACH)) == 0 {}
            unlink(path)
        }
        rmdir(directory)
    }
}
