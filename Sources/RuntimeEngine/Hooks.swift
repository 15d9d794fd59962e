#if canImport(Glibc)
import Glibc
#endif
import JSONCoding
import LinuxKit
import OCI

/// OCI hooks: programs run by the runtime, in the runtime's namespaces, with the container's
/// state as JSON on stdin. prestart and createRuntime run after the container's mounts are in
/// place and before pivot_root, and a failure aborts `create`; poststart and poststop failures
/// are logged and the lifecycle goes on, as the runtime spec says.
enum Hooks {
    /// createContainer and startContainer run inside the container's namespaces, which this
    /// runtime does not do (yet): a spec asking for them is refused rather than half-honoured.
    static func validate(_ hooks: RuntimeSpec.Hooks?) throws(RuntimeError) {
        if hooks?.createContainer?.isEmpty == false {
            throw .invalidSpec(field: "hooks.createContainer", reason: "not supported by skiff")
        }
        if hooks?.startContainer?.isEmpty == false {
            throw .invalidSpec(field: "hooks.startContainer", reason: "not supported by skiff")
        }
        let lists = [("prestart", hooks?.prestart), ("createRuntime", hooks?.createRuntime),
                     ("poststart", hooks?.poststart), ("poststop", hooks?.poststop)]
        for (kind, list) in lists {
            for (i, hook) in (list ?? []).enumerated() {
                guard hook.path.hasPrefix("/") else {
                    throw .invalidSpec(field: "hooks.\(kind)[\(i)].path", reason: "must be absolute")
                }
                if let timeout = hook.timeout, timeout <= 0 {
                    throw .invalidSpec(field: "hooks.\(kind)[\(i)].timeout", reason: "must be positive")
                }
            }
        }
    }

    /// Runs `hooks` in order; the first failure is returned as an error naming the hook.
    static func run(_ hooks: [RuntimeSpec.Hook]?, kind: String, state: ContainerState) throws(RuntimeError) {
        guard let hooks, !hooks.isEmpty else { return }
        let input: [UInt8]
        do {
            input = try JSONEncoding.encode(state)
        } catch {
            throw .hook("\(kind): cannot encode the state")
        }
        for (i, hook) in hooks.enumerated() {
            let args = hook.args ?? []
            let result: ChildProcess.Result
            do {
                result = try ChildProcess.run(hook.path, Array(args.dropFirst()), argv0: args.first,
                                              exactEnvironment: hook.env ?? [], stdin: input,
                                              timeout: Double(hook.timeout ?? 120))
            } catch {
                throw .hook("\(kind)[\(i)] \(hook.path): \(error)")
            }
            if result.timedOut { throw .hook("\(kind)[\(i)] \(hook.path): timed out after \(hook.timeout ?? 120) s") }
            guard result.status == 0 else {
                let output = String((result.stderr + result.stdout).split(separator: "\n").joined(separator: " ").suffix(512))
                throw .hook("\(kind)[\(i)] \(hook.path) exited with status \(result.status)"
                    + (output.isEmpty ? "" : ": \(output)"))
            }
        }
    }

    /// For hooks whose failure must not stop the lifecycle.
    static func runLogged(_ hooks: [RuntimeSpec.Hook]?, kind: String, state: ContainerState, warn: (String) -> Void) {
        do {
            try run(hooks, kind: kind, state: state)
        } catch {
            warn(error.description)
        }
    }
}
