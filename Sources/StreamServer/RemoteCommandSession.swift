#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import StreamProtocols

/// The streams of an exec or attach as the server writes them, whatever carries them.
enum OutputStream { case stdout, stderr, error }

/// How a remote command reaches its client: SPDY streams or WebSocket channels.
protocol RemoteCommandTransport: AnyObject {
    func write(_ stream: OutputStream, _ bytes: [UInt8])
    /// Everything is written: end the streams and, once the client has read them, the connection.
    func finish()
}

/// One exec or attach, between its transport and the process: starts the process once the client's
/// streams are there, copies stdin in and output out through the event loop (pipe channels, no
/// threads), and reports the exit on the error stream once the output has drained. Confined to the
/// connection's event loop.
final class RemoteCommandSession {
    private let request: StreamRequest
    private let version: RemoteCommandProtocol
    private let runtime: any StreamRuntime
    private let eventLoop: EventLoop
    weak var transport: RemoteCommandTransport?

    private var process: InteractiveProcess?
    private var input: Channel?
    /// An attach's connection to the monitor: input goes to it framed.
    private var monitor: Channel?
    private var outputs: [Channel] = []
    private var openOutputs = 0
    private var pendingInput: [[UInt8]] = []
    private var inputEnded = false
    private var endSent = false
    private var outcome: RemoteCommandOutcome?
    private var done = false
    private var resizes = ResizeDecoder()
    /// A size that came before the process had started: applied once it has.
    private var pendingSize: TerminalSize?

    init(request: StreamRequest, version: RemoteCommandProtocol, runtime: any StreamRuntime, eventLoop: EventLoop) {
        (self.request, self.version, self.runtime, self.eventLoop) = (request, version, runtime, eventLoop)
    }

    /// The streams the client must open (SPDY waits for them): error, and each that was asked for.
    var wantsStdin: Bool { flags.stdin }
    var tty: Bool { flags.tty }
    private var flags: (tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool) {
        switch request {
        case .exec(_, _, let tty, let stdin, let stdout, let stderr), .attach(_, let tty, let stdin, let stdout, let stderr):
            (tty, stdin, stdout, stderr && !tty)
        case .portForward: (false, false, false, false)
        }
    }

    func start() {
        let (request, runtime, flags) = (request, runtime, flags)
        let started = eventLoop.makeFutureWithTask {
            switch request {
            case .exec(let id, let cmd, _, _, _, _): try await runtime.exec(containerID: id, cmd: cmd, tty: flags.tty, stdin: flags.stdin)
            case .attach(let id, _, _, _, _): try await runtime.attach(containerID: id, tty: flags.tty, stdin: flags.stdin)
            case .portForward: throw StreamServerError.wrongKind
            }
        }
        started.whenComplete { result in
            switch result {
            case .success(let process): self.run(process)
            case .failure(let error): self.complete(.failed(String(describing: error)))
            }
        }
    }

    private func run(_ process: InteractiveProcess) {
        self.process = process
        guard !done else {
            // The client went while the process started: its descriptors are closed here (no
            // channel owns them yet), it is stopped, and reaped.
            for fd in [process.stdin, process.stdout, process.stderr, process.terminal, process.attach].compactMap({ $0 }) { close(fd) }
            process.control.terminate()
            let control = process.control
            Task { _ = await control.wait() }
            return
        }
        let control = process.control
        if let size = pendingSize, process.attach == nil {
            pendingSize = nil
            control.resize(size)
        }
        if let fd = process.attach { return connectMonitor(fd) }
        if let terminal = process.terminal {
            connect(terminal, output: .stdout, input: true)
        } else {
            if let fd = process.stdout { connect(fd, output: .stdout, input: false) }
            if let fd = process.stderr { connect(fd, output: .stderr, input: false) }
            if let fd = process.stdin {
                NIOPipeBootstrap(group: eventLoop).takingOwnershipOfDescriptor(output: fd).whenComplete { result in
                    switch result {
                    case .success(let channel):
                        self.input = channel
                        self.flushInput()
                        if self.done { channel.close(promise: nil) }
                    case .failure:
                        close(fd)
                    }
                }
            }
        }
        eventLoop.makeFutureWithTask { await control.wait() }.whenSuccess { self.exited($0) }
    }

    /// An attach: the monitor relays the container's output and takes its input; the attach ends
    /// with the connection (the container's exit, or the monitor gone) and reports success, as
    /// the kubelet's attach does whatever the container's status.
    private func connectMonitor(_ fd: Int32) {
        openOutputs += 1
        ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                var decoder = MonitorAttachDecoder()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PipeReader(
                        data: { [weak self] bytes in
                            guard let frames = try? decoder.feed(bytes) else { return channel.close(promise: nil) }
                            for (stream, payload) in frames { self?.forward(stream, payload) }
                        },
                        ended: { [weak self] in
                            self?.outcome = .exited(0)
                            self?.outputEnded()
                        }))
                }
            }
            .withConnectedSocket(fd)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.monitor = channel
                    self.outputs.append(channel)
                    if let size = self.pendingSize {
                        self.pendingSize = nil
                        self.apply(size)
                    }
                    self.flushInput()
                    if self.done { channel.close(promise: nil) }
                case .failure(let error):
                    close(fd)   // still ours when NIO could not take it
                    self.complete(.failed("attach: \(error)"))
                }
            }
    }

    /// Output the client asked for; an attach relays both streams whatever was asked.
    private func forward(_ stream: OutputStream, _ bytes: [UInt8]) {
        if stream == .stdout, !flags.stdout { return }
        if stream == .stderr, !flags.stderr { return }
        transport?.write(stream, bytes)
    }

    private func connect(_ fd: Int32, output: OutputStream, input: Bool) {
        openOutputs += 1
        let bootstrap = NIOPipeBootstrap(group: eventLoop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(PipeReader(
                    data: { [weak self] bytes in self?.transport?.write(output, bytes) },
                    ended: { [weak self] in self?.outputEnded() }))
            }
        }
        let channel = input ? bootstrap.takingOwnershipOfDescriptor(inputOutput: fd) : bootstrap.takingOwnershipOfDescriptor(input: fd)
        channel.whenComplete { result in
            switch result {
            case .success(let channel):
                self.outputs.append(channel)
                if input {
                    self.input = channel
                    self.flushInput()
                }
                if self.done { channel.close(promise: nil) }
            case .failure:
                close(fd)
                self.outputEnded()
            }
        }
    }

    // MARK: from the client

    func stdin(_ bytes: [UInt8]) {
        guard !inputEnded, !bytes.isEmpty else { return }
        pendingInput.append(bytes)
        flushInput()
    }

    /// The client's stdin ended: the process reads EOF (a terminal gets an EOT, as on a keyboard).
    func stdinClosed() {
        guard !inputEnded else { return }
        // An exec's terminal gets an EOT; an attach leaves that to the monitor (stdin_once).
        if tty, case .exec = request { pendingInput.append([4]) }
        inputEnded = true
        flushInput()
    }

    func resize(_ bytes: [UInt8]) {
        // A malformed resize stream is ignored from then on, as the kubelet's server stops reading it.
        guard let sizes = try? resizes.feed(bytes) else { return }
        sizes.forEach(apply)
    }

    private func apply(_ size: TerminalSize) {
        if let monitor {
            monitor.writeAndFlush(monitor.allocator.buffer(bytes: MonitorAttach.resize(width: size.width, height: size.height)), promise: nil)
        } else if let control = process?.control, process?.attach == nil {
            control.resize(size)
        } else {
            pendingSize = size
        }
    }

    private func flushInput() {
        if let monitor {
            for bytes in pendingInput { monitor.write(monitor.allocator.buffer(bytes: MonitorAttach.frame(0, bytes)), promise: nil) }
            pendingInput.removeAll()
            if inputEnded, !endSent {
                endSent = true
                monitor.write(monitor.allocator.buffer(bytes: MonitorAttach.frame(1, [])), promise: nil)
            }
            monitor.flush()
            return
        }
        guard let input else { return }
        for bytes in pendingInput { input.write(input.allocator.buffer(bytes: bytes), promise: nil) }
        pendingInput.removeAll()
        input.flush()
        // Closed once what is queued has been written: the pipe may be full for a while.
        if inputEnded, !tty {
            input.writeAndFlush(input.allocator.buffer(capacity: 0)).whenComplete { _ in input.close(promise: nil) }
        }
    }

    /// The client is gone before the end: the process is stopped (or the attach let go).
    func clientGone() {
        guard !done else { return }
        done = true
        process?.control.terminate()
        closePipes()
    }

    // MARK: to the client

    private func outputEnded() {
        openOutputs -= 1
        if openOutputs <= 0, let outcome { complete(outcome) }
    }

    private func exited(_ outcome: RemoteCommandOutcome) {
        self.outcome = outcome
        guard openOutputs > 0 else { return complete(outcome) }
        // A background child may hold the output open: the exit ends the stream soon regardless.
        eventLoop.scheduleTask(in: .seconds(2)) { self.complete(outcome) }
    }

    private func complete(_ outcome: RemoteCommandOutcome) {
        guard !done else { return }
        done = true
        let status = outcome.errorStream(version)
        if !status.isEmpty { transport?.write(.error, status) }
        transport?.finish()
        closePipes()
    }

    private func closePipes() {
        for channel in outputs { channel.close(promise: nil) }
        input?.close(promise: nil)
        outputs.removeAll()
        input = nil
    }
}

/// Reads a pipe, a terminal or the monitor's socket for the session. A terminal whose every slave
/// is closed reads EIO: that is its end of file.
final class PipeReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let data: ([UInt8]) -> Void
    private let ended: () -> Void
    private var over = false

    init(data: @escaping ([UInt8]) -> Void, ended: @escaping () -> Void) { (self.data, self.ended) = (data, ended) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty { self.data(bytes) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelEvent, case .inputClosed = event as! ChannelEvent { finish(context) }
    }

    func channelInactive(context: ChannelHandlerContext) { finish(context) }

    func errorCaught(context: ChannelHandlerContext, error: Error) { finish(context) }

    private func finish(_ context: ChannelHandlerContext) {
        guard !over else { return }
        over = true
        ended()
        context.close(promise: nil)
    }
}

enum StreamServerError: Error, CustomStringConvertible {
    case wrongKind
    case tls(String)

    var description: String {
        switch self {
        case .wrongKind: "the stream request is of another kind"
        case .tls(let why): "stream server TLS: \(why)"
        }
    }
}
