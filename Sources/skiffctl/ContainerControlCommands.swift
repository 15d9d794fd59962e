#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CRIAPI

/// `exec --sync`: ExecSync, the unary form the kubelet's exec probes use. The streaming form needs
/// the runtime's streaming server, which skiffctl does not speak yet: it is refused by name.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container.")
    @OptionGroup var streamGlobal: StreamGlobalOptions
    @Flag(name: [.short, .long], help: "Run the command synchronously (ExecSync).") var sync = false
    @Flag(name: [.short, .long], help: "Keep stdin open (streaming exec).") var interactive = false
    @Flag(name: [.short, .long], help: "Allocate a terminal in the container (streaming exec).") var tty = false
    @Option(name: [.customShort("e"), .long], help: "websocket (falling back to spdy) or spdy.") var transport = "websocket"
    @Option(name: [.customLong("exec-timeout")], help: "Seconds the command may run (crictl's exec --timeout; 0: no limit).") var seconds: Int64 = 0
    @Argument(help: "CONTAINER-ID") var id: String
    @Argument(parsing: .captureForPassthrough, help: "COMMAND [ARG...]") var command: [String] = []

    func run() async throws {
        let args = command.first == "--" ? Array(command.dropFirst()) : command
        guard !args.isEmpty else { throw ValidationError("exec needs a command") }
        guard sync else { return try await stream(args) }
        let reply = try await Session.run(try streamGlobal.shared(), .runtime, doing: "execing command in container \"\(id)\"") { cri in
            try await cri.runtime.execSync(.with { $0.containerID = id; $0.cmd = args; $0.timeout = seconds }, options: cri.options)
        }
        for (fd, bytes) in [(STDOUT_FILENO, Array(reply.stdout)), (STDERR_FILENO, Array(reply.stderr))] where !bytes.isEmpty {
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        if reply.exitCode != 0 { throw ExitCode(reply.exitCode) }
    }
}

/// UpdateContainerResources with crictl's flags.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Update the resources of one or more containers.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "CPU CFS period in microseconds.") var cpuPeriod: Int64 = 0
    @Option(help: "CPU CFS quota in microseconds.") var cpuQuota: Int64 = 0
    @Option(help: "CPU shares.") var cpuShare: Int64 = 0
    @Option(help: "CPUs allowed (0-3, 0,1).") var cpusetCpus = ""
    @Option(help: "Memory nodes allowed.") var cpusetMems = ""
    @Option(help: "Memory limit in bytes.") var memory: Int64 = 0
    @Argument(help: "CONTAINER-ID [CONTAINER-ID...]") var ids: [String]

    func run() async throws {
        for id in ids {
            _ = try await Session.run(global, .runtime, doing: "updating the container resources of \"\(id)\"") { cri in
                try await cri.runtime.updateContainerResources(.with { request in
                    request.containerID = id
                    request.linux = .with {
                        $0.cpuPeriod = cpuPeriod
                        $0.cpuQuota = cpuQuota
                        $0.cpuShares = cpuShare
                        $0.cpusetCpus = cpusetCpus
                        $0.cpusetMems = cpusetMems
                        $0.memoryLimitInBytes = memory
                    }
                }, options: cri.options)
            }
            print(id)
        }
    }
}
