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
        // Every subcommand names itself: argument-parser would otherwise derive names from the type
        // names at each start, through reflection that costs milliseconds in a binary this size.
        subcommands: [Create.self, Start.self, State.self, Kill.self, Delete.self, Run.self, Exec.self, List.self,
                      Ps.self, Pause.self, Resume.self, Update.self, Events.self, SpecCommand.self, Features.self, SandboxPin.self]
    )

    static let global = GlobalArguments(
        withValue: ["--root", "--log", "--log-format", "--criu", "--rootless"],
        flags: ["--debug", "--systemd-cgroup"])

    static func main() {
        // Hooks' stdin and the terminal proxy write to pipes and ptys whose reader may be gone:
        // that is an error to handle, not a reason to die.
        signal(SIGPIPE, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let status = FastPath.run(arguments) { Glibc.exit(status) }
        main(global.movedAfterCommand(arguments))
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

    @Flag(help: "Make containers' cgroups systemd scopes (cgroupsPath is slice:prefix:name).")
    var systemdCgroup = false

    @Option(help: .hidden) var criu: String?
    @Option(help: .hidden) var rootless: String?

    func context() throws -> RuntimeContext {
        let context = RuntimeContext(root: root, log: Log(path: log, json: logFormat == "json"), systemdCgroup: systemdCgroup)
        guard logFormat == "text" || logFormat == "json" else { throw context.failure("invalid log-format: \(logFormat)") }
        return context
    }

    func runtime() throws -> Runtime { try context().runtime() }

    func run<T>(_ body: (Runtime) throws -> T) throws -> T { try context().run(body) }
}

/// What every command needs from the global flags, as plain values (the fast path has no
/// argument-parser objects).
struct RuntimeContext {
    let root: String
    let log: Log
    var systemdCgroup = false

    func runtime() -> Runtime { Runtime(root: root, systemdCgroup: systemdCgroup) { log.write(level: "warning", $0) } }

    /// Runs `body`, turning a runtime error into runc's output: a message and exit status 1.
    func run<T>(_ body: (Runtime) throws -> T) throws -> T {
        do {
            return try body(runtime())
        } catch let error as RuntimeError {
            throw failure(error.description)
        }
    }

    /// Reports `message` (stderr and the log file) and returns the exit status to throw.
    func failure(_ message: String) -> ExitCode {
        log.write(level: "error", message)
        return ExitCode.failure
    }
}
