#if canImport(Glibc)
import Glibc
#endif
import CRIServer
import Dispatch
import GRPCCore
import GRPCNIOTransportHTTP2
import ImageStore
import LinuxKit
import Logging
import PodManager
import SkiffConfig
import StreamServer

/// Wiring of the daemon: directories, the socket and its lock, the gRPC server, signals, sd_notify.
struct Daemon {
    let config: SkiffConfiguration
    let logger: Logger

    struct AlreadyRunning: Error, CustomStringConvertible {
        let socket: String
        var description: String { "another skiffd is already serving \(socket)" }
    }

    func run() async throws {
        MallocPolicy.returnLargeBlocks()
        let socketPath = config.socketPath
        for dir in [config.root, config.state, parent(of: socketPath)] {
            try FileSystem.makeDirectories(dir, mode: 0o711)
        }
        // The lock beside the socket is what makes a second daemon fail instead of unlinking a live socket.
        let lock: FileLock
        do {
            lock = try FileLock(path: socketPath + ".lock")
        } catch is FileLock.Held {
            throw AlreadyRunning(socket: socketPath)
        }
        let fd = try UnixListener.listen(path: socketPath, mode: 0o660, gid: gid_t(config.grpc.gid))
        defer {
            try? FileSystem.removeFile(socketPath)
            withExtendedLifetime(lock) {}
        }

        var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
        TransportLimits.apply(to: &transportConfig, maxMessageSize: Int(config.grpc.maxMessageSize))
        let node = NodeState(config: config)
        let events = LifecycleEvents { [logger] in logger.warning("\($0)") }
        let pods = PodSandboxes(config: config, skiff: Self.companion("skiff"), monitor: Self.companion("skiff-monitor"),
                                events: events) { [logger] in logger.warning("\($0)") }
        await pods.recover()
        let layout = ImageStoreLayout(root: config.imageStoreRoot)
        let registries = RegistryClient(hosts: RegistryHosts(configDir: config.images.registryConfigPath),
                                        authFile: config.images.authFile.isEmpty ? nil : DockerAuthFile(path: config.images.authFile),
                                        timeouts: .init(connect: config.images.connectTimeout, read: config.images.readTimeout))
        let images = ImageManager(layout: layout, client: registries, parallelLayers: Int(config.images.parallelLayers))
        let containers = Containers(
            paths: .init(root: config.root + "/containers", state: config.state + "/containers", runtimeRoot: config.state + "/runtime",
                         skiff: Self.companion("skiff"), monitor: Self.companion("skiff-monitor"),
                         handlers: config.runtime.handlers),
            pods: pods, images: images, layout: layout, tolerateMissing: config.runtime.tolerateMissingControllers) { [logger] in logger.warning("\($0)") }
        await containers.recover()
        await images.setUsers { await containers.imageUsers() }
        let streams = StreamServer(config: .init(config.stream), runtime: NodeStreamRuntime(pods: pods, containers: containers))
        // Pods and images do not need it: a streaming server that cannot bind (an address not yet
        // up) is tried again by the next Exec, Attach or PortForward.
        do {
            let base = try await streams.start()
            logger.info("streaming server (exec, attach, port-forward)", metadata: ["url": "\(base)"])
        } catch {
            logger.error("streaming server not started; Exec, Attach and PortForward try again", metadata: ["error": "\(error)"])
        }
        let server = GRPCServer(
            transport: .http2NIOPosix(listeningSocketDescriptor: Int(fd), transportSecurity: .plaintext,
                                      config: transportConfig),
            services: [
                RuntimeServiceAdapter(node: node, pods: pods, containers: containers, logger: logger, streams: streams),
                ImageServiceAdapter(layout: layout, images: images, logger: logger),
            ]
        )
        // Exits are read from the monitors' records when a container is looked at; while someone
        // watches the events, look every second so STOPPED follows an exit without a relist.
        let exitWatch = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if events.subscriberCount > 0 { await containers.sweep() }
            }
        }
        defer { exitWatch.cancel() }
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in
            logger.info("shutting down", metadata: ["signal": "\(signal)"])
            server.beginGracefulShutdown()
        }
        // The registry client's connection pool must be shut down before it is released (in a
        // debug build async-http-client traps otherwise), whether serving ends well or not.
        do {
            try await serve(server, socketPath: socketPath, config: config)
        } catch {
            await streams.stop()
            await registries.shutdown()
            throw error
        }
        await streams.stop()
        await registries.shutdown()
        withExtendedLifetime(signals) {}
        logger.info("stopped")
    }

    private func serve(_ server: GRPCServer<HTTP2ServerTransport.Posix>, socketPath: String, config: SkiffConfiguration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask {
                guard try await server.listeningAddress != nil else { return }
                logger.info("serving CRI", metadata: [
                    "socket": "\(socketPath)", "version": "\(SkiffVersion.current)", "root": "\(config.root)",
                ])
                if try SystemdNotify.send("READY=1\nSTATUS=serving CRI on \(socketPath)") {
                    logger.debug("notified systemd")
                }
            }
            try await group.waitForAll()
        }
    }

    /// A program installed with skiffd (`skiff`, `skiff-monitor`): beside skiffd's own executable,
    /// as in a build tree and in /usr/bin, else on the PATH's usual places.
    static func companion(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") {
                let beside = String(exe[..<slash]) + "/" + name
                if access(beside, X_OK) == 0 { return beside }
            }
        }
        return ["/usr/bin/", "/usr/local/bin/", "/usr/libexec/skiff/"].map { $0 + name }.first { access($0, X_OK) == 0 } ?? name
    }

    private func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}

/// Turns SIGTERM/SIGINT into a callback on a dispatch queue instead of killing the process,
/// so the daemon can stop accepting calls, finish the ones in flight and remove its socket.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "skiffd.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    deinit { sources.forEach { $0.cancel() } }
}
