#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CRIAPI
import CRIClient
import StreamClient

/// Exec, attach and port-forward through the runtime's streaming server, as crictl does them:
/// WebSocket first (`-e websocket`, the default) and SPDY when the server refuses it (a new URL is
/// asked for: a refused upgrade has used the first one's token), or SPDY only (`-e spdy`).
enum Streaming {
    static func transports(_ name: String) throws -> [StreamConnection.Transport] {
        switch name {
        case "websocket": [.webSocket, .spdy]
        case "spdy": [.spdy]
        default: throw ValidationError("--transport is websocket or spdy")
        }
    }

    /// Connects to a fresh URL from `url` with each transport in turn until one upgrades.
    static func connect(_ transports: [StreamConnection.Transport], protocols: (StreamConnection.Transport) -> [String],
                        url: () async throws -> String) async throws -> (StreamConnection, StreamConnection.Transport) {
        for (index, transport) in transports.enumerated() {
            let address = try await url()
            do {
                return (try StreamConnection(url: address, transport: transport, protocols: protocols(transport)), transport)
            } catch let refused as StreamConnection.Refused where index + 1 < transports.count && refused.status != 404 {
                continue
            }
        }
        throw StreamClientError("no transport was accepted")
    }

    static func remoteCommand(_ global: GlobalOptions, transport: String, options: RemoteCommandClient.Options, doing what: String,
                              url: @escaping @Sendable (CRIClient) async throws -> String) async throws -> Int32 {
        let (connection, used) = try await connect(try transports(transport), protocols: {
            $0 == .webSocket ? RemoteCommandClient.webSocketProtocols : RemoteCommandClient.spdyProtocols
        }) {
            try await Session.run(global, .runtime, doing: what) { try await url($0) }
        }
        return try RemoteCommandClient.run(connection, used, options)
    }
}

extension ExecCommand {
    /// The streaming exec (without --sync): the container's exit code becomes skiffctl's.
    func stream(_ args: [String]) async throws {
        let request = Runtime_V1_ExecRequest.with {
            $0.containerID = id; $0.cmd = args; $0.tty = tty; $0.stdin = interactive; $0.stdout = true; $0.stderr = !tty
        }
        let code = try await Streaming.remoteCommand(try streamGlobal.shared(), transport: transport, options: .init(stdin: interactive, stderr: !tty, tty: tty),
                                                     doing: "execing command in container \"\(id)\"") {
            try await $0.runtime.exec(request, options: $0.options).url
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attach", abstract: "Attach to a running container.")
    @OptionGroup var streamGlobal: StreamGlobalOptions
    @Flag(name: [.customShort("i"), .long], help: "Keep stdin open.") var stdin = false
    @Flag(name: [.short, .long], help: "The container has a terminal (its stdout and stderr are one).") var tty = false
    @Option(name: [.customShort("e"), .long], help: "websocket (falling back to spdy) or spdy.") var transport = "websocket"
    @Argument(help: "CONTAINER-ID") var id: String

    func run() async throws {
        let request = Runtime_V1_AttachRequest.with { $0.containerID = id; $0.stdin = stdin; $0.tty = tty; $0.stdout = true; $0.stderr = !tty }
        _ = try await Streaming.remoteCommand(try streamGlobal.shared(), transport: transport, options: .init(stdin: stdin, stderr: !tty, tty: tty),
                                              doing: "attaching to container \"\(id)\"") {
            try await $0.runtime.attach(request, options: $0.options).url
        }
    }
}

struct PortForwardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port-forward", abstract: "Forward local ports to a pod.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("e"), .long], help: "websocket (SPDY inside it, falling back to spdy) or spdy.") var transport = "websocket"
    @Argument(help: "POD-ID") var pod: String
    @Argument(help: "[LOCAL_PORT:]REMOTE_PORT (LOCAL_PORT 0 or empty: any free port)") var ports: [String]

    func run() async throws {
        let mappings = try ports.map { text -> PortForwardClient.Mapping in
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let remote = UInt16(parts.last!), remote > 0,
                  let local = parts.count == 2 ? (parts[0].isEmpty ? 0 : UInt16(parts[0])) : remote else {
                throw ValidationError("a port is [LOCAL_PORT:]REMOTE_PORT, not \(text)")
            }
            return .init(local: local, remote: remote)
        }
        guard !mappings.isEmpty else { throw ValidationError("give at least one port") }
        let request = Runtime_V1_PortForwardRequest.with { $0.podSandboxID = pod; $0.port = mappings.map { Int32($0.remote) } }
        let (connection, used) = try await Streaming.connect(try Streaming.transports(transport), protocols: {
            $0 == .webSocket ? ["SPDY/3.1+portforward.k8s.io"] : ["portforward.k8s.io"]
        }) {
            try await Session.run(global, .runtime, doing: "port forwarding to pod \"\(pod)\"") {
                try await $0.runtime.portForward(request, options: $0.options).url
            }
        }
        try PortForwardClient(connection, tunnelled: used == .webSocket).run(mappings) { bound in
            // Written at once (stdout may be a pipe): a script waits for these lines.
            let lines = bound.map { "Forwarding from 127.0.0.1:\($0.local) -> \($0.remote)\n" }.joined()
            RemoteCommandClient.writeAll(STDOUT_FILENO, Array(lines.utf8))
        }
    }
}
