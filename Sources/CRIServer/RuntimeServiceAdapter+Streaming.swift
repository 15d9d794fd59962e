#if canImport(Glibc)
import Glibc
#endif
import CRIAPI
import CShims
import GRPCCore
import LinuxKit
import PodManager
import SkiffConfig
import StreamProtocols
import StreamServer
import Synchronization

// Exec, Attach and PortForward: the request is checked here, as the kubelet's streaming library
// checks it, and the answer is a URL on skiffd's streaming server with a single-use token.
extension RuntimeServiceAdapter {
    public func exec(request: Runtime_V1_ExecRequest, context: ServerContext) async throws -> Runtime_V1_ExecResponse {
        try await CRIStatus.serving("Exec", logger: logger) {
            try Self.checkStreams(request.containerID, tty: request.tty, stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, or: "or")
            guard !request.cmd.isEmpty else { throw PodManagerError.invalidArgument(field: "cmd", reason: "a command is required") }
            let id = try await containers.runningID(request.containerID)
            let url = try await streamServer().url(for: .exec(containerID: id, cmd: request.cmd, tty: request.tty, stdin: request.stdin,
                                                        stdout: request.stdout, stderr: request.stderr))
            return .with { $0.url = url }
        }
    }

    public func attach(request: Runtime_V1_AttachRequest, context: ServerContext) async throws -> Runtime_V1_AttachResponse {
        try await CRIStatus.serving("Attach", logger: logger) {
            try Self.checkStreams(request.containerID, tty: request.tty, stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, or: "and")
            let id = try await containers.runningID(request.containerID)
            let url = try await streamServer().url(for: .attach(containerID: id, tty: request.tty, stdin: request.stdin, stdout: request.stdout, stderr: request.stderr))
            return .with { $0.url = url }
        }
    }

    public func portForward(request: Runtime_V1_PortForwardRequest, context: ServerContext) async throws -> Runtime_V1_PortForwardResponse {
        try await CRIStatus.serving("PortForward", logger: logger) {
            guard !request.podSandboxID.isEmpty else {
                throw PodManagerError.invalidArgument(field: "pod_sandbox_id", reason: "missing required pod_sandbox_id")
            }
            guard request.port.allSatisfy({ (1...65535).contains($0) }) else {
                throw PodManagerError.invalidArgument(field: "port", reason: "ports are 1 to 65535")
            }
            let (id, _) = try await pods.networkNamespace(forwarding: request.podSandboxID)
            let url = try await streamServer().url(for: .portForward(sandboxID: id, ports: request.port.map { UInt16($0) }))
            return .with { $0.url = url }
        }
    }

    /// The streaming server, started now if it could not bind when skiffd started.
    private func streamServer() async throws -> StreamServer {
        guard let streams else { throw StreamServer.Failure.notStarted }
        if !streams.isRunning {
            do { try await streams.start() } catch { throw StreamServer.Failure.unavailable("\(error)") }
        }
        return streams
    }

    /// The kubelet's own checks, with its words.
    static func checkStreams(_ id: String, tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool, or word: String) throws {
        guard !id.isEmpty else { throw PodManagerError.invalidArgument(field: "container_id", reason: "missing required container_id") }
        guard !(tty && stderr) else { throw PodManagerError.invalidArgument(field: "tty", reason: "tty and stderr cannot both be true") }
        guard stdin || stdout || stderr else {
            throw PodManagerError.invalidArgument(field: "stdin", reason: "one of stdin, stdout, \(word) stderr must be set")
        }
    }
}

/// The node as the streaming server sees it: execs through the container's runtime, ports dialled
/// inside the pod's network namespace.
public struct NodeStreamRuntime: StreamRuntime {
    let pods: PodSandboxes
    let containers: Containers

    public init(pods: PodSandboxes, containers: Containers) { (self.pods, self.containers) = (pods, containers) }

    public func exec(containerID: String, cmd: [String], tty: Bool, stdin: Bool) async throws -> InteractiveProcess {
        let exec = try await containers.startExec(containerID, cmd: cmd, tty: tty, stdin: stdin)
        // The server owns what it is given; a copy of the terminal stays here for resizes.
        let terminal = exec.terminal.map { dup($0) }
        return InteractiveProcess(stdin: exec.stdin, stdout: exec.stdout, stderr: exec.stderr, terminal: terminal,
                                  control: ExecControl(exec: exec))
    }

    public func attach(containerID: String, tty: Bool, stdin: Bool) async throws -> InteractiveProcess {
        InteractiveProcess(attach: try await containers.attach(containerID), control: AttachControl())
    }

    public func dial(sandboxID: String, port: UInt16) async throws -> Int32 {
        let (_, netns) = try await pods.networkNamespace(forwarding: sandboxID)
        return try await OffPool.run { try Self.connect(netns: netns, port: port) }
    }

    /// localhost:port in the pod's namespace, IPv4 first, then IPv6 (as containerd dials).
    static func connect(netns: String?, port: UInt16) throws -> Int32 {
        var failure = SystemError("connect", path: "localhost:\(port)", errno: ECONNREFUSED)
        for family in [AF_INET, AF_INET6] {
            let fd = netns.map { cs_socket_in_netns($0, family) } ?? socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { failure = SystemError("socket", path: netns ?? ""); continue }
            let connected: Int32
            if family == AF_INET {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            } else {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_port = port.bigEndian
                address.sin6_addr = in6addr_loopback
                connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            }
            if connected == 0 { return fd }
            failure = SystemError("connect", path: "localhost:\(port)")
            close(fd)
        }
        throw failure
    }
}

/// A streaming exec's process: waited for off the pool, killed when its client goes away, resized
/// through its terminal.
final class ExecControl: ProcessControl, Sendable {
    private let exec: StreamingExec
    /// The terminal copy, closed once the process is gone (a later resize must not hit a reused fd).
    private let terminal: Mutex<Int32?>

    init(exec: StreamingExec) {
        self.exec = exec
        terminal = Mutex(exec.terminal)
    }

    func wait() async -> RemoteCommandOutcome {
        let exec = exec
        let status = (try? await OffPool.run { Containers.waitExec(exec) }) ?? 255
        terminal.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
        return .exited(status)
    }

    func resize(_ size: TerminalSize) {
        terminal.withLock { fd in
            if let fd { Containers.resize(fd, width: size.width, height: size.height) }
        }
    }

    func terminate() { Containers.killExec(exec) }
}

/// An attach has no process of its own: it ends with its connection to the monitor, and a client
/// going away only closes that connection.
struct AttachControl: ProcessControl {
    func wait() async -> RemoteCommandOutcome { .exited(0) }
    func resize(_ size: TerminalSize) {}
    func terminate() {}
}

extension StreamServer.Config {
    /// From config.toml's [stream].
    public init(_ stream: SkiffConfiguration.Stream) {
        self.init()
        address = stream.address
        port = Int(stream.port)
        tlsCert = stream.tlsCert
        tlsKey = stream.tlsKey
        idleTimeout = stream.idleTimeout
        maxStreams = Int(stream.maxStreams)
    }
}
