#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CommandLineSupport
import RuntimeEngine
import SkiffConfig

/// `skiff`: the OCI runtime, with runc's command line so containerd, CRI-O or a person can use it
/// in runc's place.
@main
struct Skiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Skiff's OCI runtime (runc-compatible command line).",
        version: SkiffVersion.current,
        subcommands: [Create.self, Start.self, State.self, Kill.self, Delete.self, Run.self, Exec.self, List.self,
                      Ps.self, SpecCommand.self, Features.self]
    )

    static let global = GlobalArguments(
        withValue: ["--root", "--log", "--log-format", "--criu", "--rootless"],
        flags: ["--debug", "--systemd-cgroup"])

    static func main() {
        // Hooks' stdin and the terminal proxy write to pipes and ptys whose reader may be gone:
        // that is an error to handle, not a reason to die.
        signal(SIGPIPE, SIG_IGN)
        main(global.movedAfterCommand(Array(CommandLine.arguments.dropFirst())))
    }
}

/// runc's global flags.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Directory for container state.")
    var root = "/run/skiff/runtime"

    @Option(help: "File to append errors and warnings to (containerd reads it).")
    var log: String?

    @Option(help: "Log format: text or json.")
    var logFormat = "text"

    @Flag(help: "Print debug information.")
    var debug = false

    @Flag(help: "Use systemd to manage cgroups (not supported: skiff writes cgroup v2 itself).")
    var systemdCgroup = false

    @Option(help: .hidden) var criu: String?
    @Option(help: .hidden) var rootless: String?

    func runtime() throws -> Runtime {
        if systemdCgroup { throw Report.failure("--systemd-cgroup is not supported: skiff manages cgroup v2 directly", self) }
        let log = Log(path: log, json: logFormat == "json")
        return Runtime(root: root) { log.write(level: "warning", $0) }
    }

    /// Runs `body`, turning a runtime error into runc's output: a message and exit status 1.
    func run<T>(_ body: (Runtime) throws -> T) throws -> T {
        let runtime = try runtime()
        do {
            return try body(runtime)
        } catch let error as RuntimeError {
            throw Report.failure(error.description, self)
        }
    }
}
