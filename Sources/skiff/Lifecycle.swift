#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import JSONCoding
import LinuxKit
import OCI
import RuntimeEngine

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container; its process waits for `start`.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String
    @Option(name: [.short, .long], help: "Bundle directory (holds config.json).") var bundle = "."
    @Option(help: "Write the init process's pid to this file.") var pidFile: String?
    @Option(help: "Unix socket to send the terminal's master fd to.") var consoleSocket: String?
    @Option(help: "Pass this many extra fds (from 3) to the container.") var preserveFds: Int32 = 0
    @Flag(help: .hidden) var noPivot = false
    @Flag(help: .hidden) var noNewKeyring = false

    func run() throws {
        if noPivot { throw Report.failure("--no-pivot is not supported: skiff always uses pivot_root", global) }
        try Self.execute(global.context(), id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket,
                         preserveFds: preserveFds)
    }

    static func execute(_ context: RuntimeContext, id: String, bundle: String, pidFile: String?, consoleSocket: String?,
                        preserveFds: Int32 = 0) throws {
        let console = try Console.make(socketPath: consoleSocket, terminal: false, detach: true, context)
        defer { console.close() }
        _ = try context.run {
            try $0.create(id: id, bundle: bundle, pidFile: pidFile, preserveFDs: preserveFds, consoleSocketFD: console.childFD)
        }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String

    func run() throws { try Self.execute(global.context(), id: id) }

    static func execute(_ context: RuntimeContext, id: String) throws { try context.run { try $0.start(id: id) } }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's OCI state as JSON.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String

    func run() throws { try Self.execute(global.context(), id: id) }

    static func execute(_ context: RuntimeContext, id: String) throws {
        let state = try context.run { try $0.state(id: id) }
        print(try JSONOutput.pretty(state))
    }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal (default SIGTERM) to a container's init.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String
    @Argument var signal = "SIGTERM"
    @Flag(name: [.short, .long], help: "Signal every process of the container.") var all = false

    func run() throws { try Self.execute(global.context(), id: id, signal: signal, all: all) }

    static func execute(_ context: RuntimeContext, id: String, signal: String, all: Bool) throws {
        guard let number = Runtime.signalNumber(signal) else { throw context.failure("unknown signal \"\(signal)\"") }
        try context.run { try $0.kill(id: id, signal: number, all: all) }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a stopped container (or any, with --force).")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String
    @Flag(name: [.short, .long], help: "Kill a running container first.") var force = false

    func run() throws { try Self.execute(global.context(), id: id, force: force) }

    static func execute(_ context: RuntimeContext, id: String, force: Bool) throws {
        try context.run { runtime in
            do {
                try runtime.delete(id: id, force: force)
            } catch RuntimeError.notFound where force {
                // runc: `delete --force` of a missing container is not an error.
            }
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and start a container; wait for it unless --detach.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String
    @Option(name: [.short, .long]) var bundle = "."
    @Option var pidFile: String?
    @Flag(name: [.short, .long], help: "Return once the container has started.") var detach = false
    @Option var preserveFds: Int32 = 0
    @Option(help: "Unix socket to send the terminal's master fd to.") var consoleSocket: String?

    func run() throws {
        try Self.execute(global.context(), id: id, bundle: bundle, pidFile: pidFile, detach: detach,
                         preserveFds: preserveFds, consoleSocket: consoleSocket)
    }

    static func execute(_ context: RuntimeContext, id: String, bundle: String, pidFile: String?, detach: Bool,
                        preserveFds: Int32 = 0, consoleSocket: String?) throws {
        // Only a foreground run without a socket needs to know: it then proxies the terminal.
        let terminal = !detach && consoleSocket == nil && Runtime.terminalRequested(bundle: bundle)
        let console = try Console.make(socketPath: consoleSocket, terminal: terminal, detach: detach, context)
        defer { console.close() }
        let status: Int32 = try context.run { runtime in
            let created = try runtime.create(id: id, bundle: bundle, pidFile: pidFile, preserveFDs: preserveFds,
                                             consoleSocketFD: console.childFD)
            try runtime.start(id: id)
            if detach { return 0 }
            let status = console.copyUntilExit(pid: created.pid, runtime: runtime) ?? runtime.wait(pid: created.pid)
            try? runtime.delete(id: id, force: true)
            return status
        }
        if status != 0 { throw ExitCode(status) }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json") var format = "table"
    @Flag(name: [.short, .long], help: "Print ids only.") var quiet = false

    func run() throws {
        let states = try global.runtime().list()
        if quiet { states.forEach { print($0.id) }; return }
        if format == "json" { print(try JSONOutput.compact(states)); return }
        var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        rows += states.map { [$0.id, "\($0.pid)", $0.status.rawValue, $0.bundle, $0.created, $0.owner] }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { i, cell in cell + String(repeating: " ", count: widths[i] - cell.count + (i < row.count - 1 ? 4 : 0)) }.joined().trimmingTrailingSpaces())
        }
    }
}

struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json.")
    @Option(name: [.short, .long], help: "Bundle directory to write into.") var bundle = "."

    func run() throws {
        let path = bundle + "/config.json"
        let text = try JSONOutput.pretty(RuntimeSpec.defaultSpec())
        do {
            // Exclusive and without following symlinks: root may run this in a directory others can write.
            try AtomicFile.createNew(Array((text + "\n").utf8), at: path)
        } catch {
            throw ValidationError(error.errno == EEXIST ? "\(path) already exists" : "cannot write \(path): \(error.reason)")
        }
    }
}

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Print what this runtime supports, as JSON.")
    // Accepted and unused, as runc accepts its global flags with every command.
    @OptionGroup var global: GlobalOptions

    func run() throws {
        print(try JSONOutput.pretty(Runtime.features()))
    }
}

enum JSONOutput {
    static func pretty<T: Encodable>(_ value: T) throws -> String { try JSONEncoding.string(value, pretty: true) }

    static func compact<T: Encodable>(_ value: T) throws -> String { try JSONEncoding.string(value) }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
