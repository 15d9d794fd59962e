#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CShims
import RuntimeEngine

/// `skiff sandbox-pin`: a pod's network, IPC and UTS namespaces for skiffd, which never changes
/// namespaces itself (it is multi-threaded). This process, single-threaded, unshares them, brings lo
/// up, sets the hostname and the pod's sysctls, and bind-mounts each at DIR/net, ipc, uts, where the
/// pod's containers join them; with --uid-map and --gid-map, a user namespace owning them too, at
/// DIR/user. Exit status 2: the request was refused (a sysctl, a hostname).
struct SandboxPin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox-pin", abstract: "Create and pin a pod's namespaces (for skiffd).", shouldDisplay: false)
    @Option(help: "Directory for the namespace files (must exist).") var dir: String
    @Flag var net = false
    @Flag var ipc = false
    @Flag var uts = false
    @Option(help: "Hostname of the pod's UTS namespace.") var hostname: String?
    @Option(help: "KEY=VALUE, repeatable.") var sysctl: [String] = []
    @Option(help: "CONTAINER-ID HOST-ID LENGTH: the pod's user namespace maps uids so (with --gid-map); it owns the others and is pinned at DIR/user.")
    var uidMap: String?
    @Option(help: "CONTAINER-ID HOST-ID LENGTH: the gids of the pod's user namespace.") var gidMap: String?
    @Option(help: "Start a pid namespace for the pod with this program (skiff-monitor) as its pid 1; its pid is printed.")
    var pidHolder: String?

    func run() throws {
        var keys: [String] = [], values: [String] = []
        for pair in sysctl {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let value = parts.count == 2 ? parts[1] : ""
            switch SysctlPolicy.check(parts[0], value, network: net, ipc: ipc, uts: uts) {
            case .success(let key): keys.append(key); values.append(value)
            case .failure(let refusal): refuse("sysctl \(parts[0]): \(refusal.reason)")
            }
        }
        if let hostname, hostname.isEmpty || hostname.utf8.count > 64 || hostname.utf8.contains(0) || !uts {
            refuse("hostname: 1 to 64 bytes, with a UTS namespace")
        }
        guard (uidMap == nil) == (gidMap == nil) else { refuse("--uid-map and --gid-map go together") }
        let maps = [uidMap, gidMap].compactMap { $0 }.map { map -> String in
            let fields = map.split(separator: " ").compactMap { UInt32($0) }
            guard fields.count == 3, fields[2] > 0 else { refuse("'\(map)' is not CONTAINER-ID HOST-ID LENGTH") }
            return fields.map(String.init).joined(separator: " ") + "\n"
        }
        let flags = (net ? CS_CLONE_NEWNET : 0) | (ipc ? CS_CLONE_NEWIPC : 0) | (uts ? CS_CLONE_NEWUTS : 0)
        // The step may name a sysctl key: read while the key strings are still there.
        let failure: String? = withCStrings(keys) { k in withCStrings(values) { v in
            var step: UnsafePointer<CChar>?
            guard cs_pin_namespaces(flags, dir, maps.first, maps.last, hostname, k, v, Int32(keys.count), &step) != 0 else { return nil }
            let error = String(cString: strerror(errno))
            return "\(step.map { String(cString: $0) } ?? "?"): \(error)"
        } }
        if let failure {
            printError("skiff: sandbox-pin: \(failure)")
            throw ExitCode.failure
        }
        if let pidHolder {
            let pid = cs_start_pid_holder(pidHolder, maps.isEmpty ? nil : dir + "/user")
            guard pid > 0 else {
                printError("skiff: sandbox-pin: pid holder \(pidHolder): \(String(cString: strerror(errno)))")
                throw ExitCode.failure
            }
            // This process exits now: the holder is reparented, belonging to nobody it could die with.
            print(pid)
        }
    }

    private func refuse(_ message: String) -> Never {
        printError("skiff: sandbox-pin: \(message)")
        Glibc.exit(2)
    }

    private func printError(_ text: String) {
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// A `const char *const *` for the length of `body`.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
