import StreamProtocols

/// What the streaming server needs from the node: processes to talk to and ports to reach. skiffd
/// implements it over its pod manager; the server holds no container logic.
public protocol StreamRuntime: Sendable {
    /// Starts `cmd` in the container's namespaces, cgroup and security settings.
    func exec(containerID: String, cmd: [String], tty: Bool, stdin: Bool) async throws -> InteractiveProcess
    /// Connects to the container's own stdio through its monitor.
    func attach(containerID: String, tty: Bool, stdin: Bool) async throws -> InteractiveProcess
    /// A connected TCP socket to `port` inside the pod's network namespace.
    func dial(sandboxID: String, port: UInt16) async throws -> Int32
}

/// A process's end of a stream: descriptors the server now owns (pipes, or one terminal master
/// for both directions), and how to wait for, resize and stop it.
public struct InteractiveProcess: Sendable {
    public var stdin: Int32?
    public var stdout: Int32?
    public var stderr: Int32?
    /// The pty master when the process has a terminal: stdin and stdout both go through it.
    public var terminal: Int32?
    /// An attach: a connection to the container's monitor carrying framed stdin, stdout, stderr
    /// and resizes; the stream ends when it does.
    public var attach: Int32?
    public var control: any ProcessControl

    public init(stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil, terminal: Int32? = nil, attach: Int32? = nil, control: any ProcessControl) {
        (self.stdin, self.stdout, self.stderr, self.terminal, self.attach, self.control) = (stdin, stdout, stderr, terminal, attach, control)
    }
}

public protocol ProcessControl: Sendable {
    /// The exit status once the process has ended (128 + signal for a signal death).
    func wait() async -> RemoteCommandOutcome
    func resize(_ size: TerminalSize)
    /// The client went away: a process without a terminal to hang up is killed; an attach detaches.
    func terminate()
}
