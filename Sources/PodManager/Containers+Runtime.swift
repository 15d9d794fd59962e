import LinuxKit
import SkiffConfig

// The OCI runtime behind a container: skiff, or the runc-compatible binary its pod's handler
// names. Everything PodManager asks of a runtime goes through its command line, so any handler
// that speaks runc's CLI works unchanged.
extension Containers {
    /// The handler's binary and its `--root` (a state directory of its own per handler, so two
    /// runtimes never read each other's state).
    func runtimeOf(_ record: CRIContainer) throws -> (binary: String, root: String) {
        guard let name = record.handler else { return (paths.skiff, paths.runtimeRoot) }
        guard let binary = paths.handlers[name] else {
            throw PodManagerError.wrongState("the runtime handler \"\(name)\" of container \(record.id) is not configured (runtime.handlers)")
        }
        return (binary, paths.runtimeRoot + "-" + name)
    }

    func monitor(for record: CRIContainer) throws -> ContainerMonitor {
        let (binary, root) = try runtimeOf(record)
        return ContainerMonitor(monitorPath: paths.monitor, runtimePath: binary, runtimeRoot: root)
    }

    func runtime(_ args: [String], for record: CRIContainer) async throws {
        let (binary, root) = try runtimeOf(record)
        let outcome = try await OffPool.run { try ChildProcess.run(binary, ["--root", root] + args, timeout: 60) }
        guard outcome.status == 0 else {
            throw PodManagerError.runtime(args.first ?? "", said: outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
