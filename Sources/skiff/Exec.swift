#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LinuxKit
import OCI
import RuntimeEngine

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a process inside a running container.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (unless --process).") var command: [String] = []
    @Option(name: [.short, .long], help: "A JSON file with the OCI process to run.") var process: String?
    @Option(help: "Unix socket to send the terminal's master fd to.") var consoleSocket: String?
    @Option(help: "Working directory inside the container.") var cwd: String?
    @Option(name: [.short, .long], help: "Add an environment variable (NAME=value).") var env: [String] = []
    @Flag(name: [.short, .long], help: "Allocate a terminal.") var tty = false
    @Option(name: [.short, .long], help: "uid[:gid] to run as.") var user: String?
    @Option(name: [.short, .customLong("additional-gids")], help: "Supplementary group id.") var additionalGids: [UInt32] = []
    @Option(name: [.customShort("c"), .long], help: "Add a capability to every set.") var cap: [String] = []
    @Flag(help: "Set no_new_privs for the process.") var noNewPrivs = false
    @Flag(name: [.short, .long], help: "Return once the process has started.") var detach = false
    @Option(help: "Write the process's pid to this file.") var pidFile: String?
    @Option(help: "Pass this many extra fds (from 3) to the process.") var preserveFds: Int32 = 0

    func run() throws {
        // As runc: exec's own failures exit 255, so they differ from the process's own statuses.
        do {
            try execute()
        } catch let exit as ExitCode where exit == .failure {
            throw ExitCode(255)
        } catch let exit as ProcessExit {
            throw ExitCode(exit.status)
        }
    }

    func execute() throws {
        let status: Int32 = try global.run { runtime in
            let process = try makeProcess(runtime)
            let console = try Console.make(socketPath: consoleSocket, terminal: process.terminal ?? false, detach: detach, global.context())
            defer { console.close() }
            let (pid, pidfd) = try runtime.exec(id: id, process: process, preserveFDs: preserveFds, consoleSocketFD: console.childFD)
            if pidfd >= 0 { close(pidfd) }
            if let pidFile {
                do { try AtomicFile.write(Array("\(pid)".utf8), to: pidFile, durable: false) } catch { throw Report.failure("pid file: \(error)", global) }
            }
            if detach { return 0 }
            return console.copyUntilExit(pid: pid, runtime: runtime) ?? runtime.wait(pid: pid)
        }
        // The process's own status (1 included) passes through run()'s mapping unchanged.
        if status != 0 { throw ProcessExit(status: status) }
    }

    struct ProcessExit: Error { let status: Int32 }

    /// `--process FILE`, or the container's own process with the command line's changes (runc's rules).
    func makeProcess(_ runtime: Runtime) throws -> RuntimeSpec.Process {
        if let process {
            let (spec, _) = try Runtime.loadProcess(path: process)
            return spec
        }
        let args = command.first == "--" ? Array(command.dropFirst()) : command
        guard !args.isEmpty else { throw Report.failure("exec needs a command, or --process", global) }
        var p = try runtime.baseProcess(id: id)
        p.args = args
        p.terminal = tty
        p.env = (p.env ?? []) + env
        if let cwd { p.cwd = cwd }
        if let user {
            let parts = user.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw Report.failure("--user \(user): expected uid[:gid] with numeric ids", global)
            }
            p.user.uid = uid
            p.user.gid = parts.count == 2 ? UInt32(parts[1])! : 0
        }
        if !additionalGids.isEmpty { p.user.additionalGids = additionalGids }
        if noNewPrivs { p.noNewPrivileges = true }
        if !cap.isEmpty {
            var caps = p.capabilities ?? .init()
            let names = cap.map { $0.uppercased().hasPrefix("CAP_") ? $0.uppercased() : "CAP_" + $0.uppercased() }
            caps.bounding = (caps.bounding ?? []) + names
            caps.effective = (caps.effective ?? []) + names
            caps.permitted = (caps.permitted ?? []) + names
            caps.inheritable = (caps.inheritable ?? []) + names
            caps.ambient = (caps.ambient ?? []) + names
            p.capabilities = caps
        }
        return p
    }
}

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the processes of a container.")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json") var format = "table"
    @Argument var id: String
    @Argument(parsing: .captureForPassthrough, help: "Options for ps(1), default -ef.") var psOptions: [String] = []

    func run() throws {
        let pids = try global.run { try $0.processes(id: id) }
        if format == "json" {
            print(try JSONOutput.compact(pids))
            return
        }
        guard format == "table" else { throw Report.failure("invalid format \(format): use table or json", global) }
        // As runc: ps(1) for the whole system, filtered to the container's pids by the PID column.
        let options = psOptions.first == "--" ? Array(psOptions.dropFirst()) : psOptions
        let candidates: [String] = ["/usr/bin/ps", "/bin/ps"]
        let ps = candidates.first(where: { path in access(path, X_OK) == 0 }) ?? "/usr/bin/ps"
        let result = try ChildProcess.run(ps, options.isEmpty ? ["-ef"] : options)
        guard result.status == 0 else { throw Report.failure("ps: \(result.stderr)", global) }
        let lines = result.stdout.split(separator: "\n")
        guard let header = lines.first, let column = header.split(separator: " ").firstIndex(of: "PID") else {
            throw Report.failure("ps output has no PID column", global)
        }
        print(header)
        let wanted = Set(pids)
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ")
            if fields.indices.contains(column), let pid = Int32(fields[column]), wanted.contains(pid) { print(line) }
        }
    }
}
