#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import CShims
import JSONCoding
import LinuxKit
import OCI
import Seccomp

/// The OCI runtime operations behind `skiff create/start/state/kill/delete/run/list`.
/// Single-threaded by design: namespace work happens in the cloned child, never in this process.
public struct Runtime: Sendable {
    public let store: ContainerStore
    /// Containers' cgroups are systemd scopes (`--systemd-cgroup`) rather than plain directories.
    public let systemdCgroup: Bool
    /// Called with warnings worth an operator's attention (the CLI writes them to the log).
    public let warn: @Sendable (String) -> Void

    public init(root: String, systemdCgroup: Bool = false, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        store = ContainerStore(root: root)
        self.systemdCgroup = systemdCgroup
        self.warn = warn
    }

    public struct Created: Sendable {
        public let pid: Int32
        public let record: ContainerRecord
    }

    /// `create`: builds the plan, clones the init process, and leaves it waiting on the exec FIFO.
    /// `consoleSocketFD` is a connected unix socket that receives the pty master when
    /// `process.terminal` is set.
    public func create(id: String, bundle: String, pidFile: String? = nil, preserveFDs: Int32 = 0,
                       consoleSocketFD: Int32 = -1) throws(RuntimeError) -> Created {
        try ContainerStore.validate(id: id)
        let bundle = try Self.absolute(bundle)
        let (spec, specBytes) = try Self.loadSpec(path: bundle + "/config.json")
        let lastCap = Self.lastCap()
        var plan = try SpawnPlan.build(spec, host: Self.host(bundle: bundle, lastCap: lastCap))
        guard Self.isDirectory(plan.rootfs) == true else {
            throw .invalidSpec(field: "root.path", reason: "\(plan.rootfs) is not a directory")
        }
        try Self.checkConsole(terminal: plan.terminal, consoleSocketFD: consoleSocketFD)
        try Hooks.validate(spec.hooks)
        let seccomp = try compileSeccomp(spec)
        let devices: DeviceFilter
        do {
            devices = try DeviceFilter.container(spec.linux?.resources?.devices)
        } catch {
            throw .invalidSpec(field: "linux.resources.devices[\(error.index)]", reason: error.reason)
        }

        do { try FileSystem.makeDirectories(store.root, mode: 0o711) } catch { throw .system(error as! SystemError) }
        let dir = store.directory(id)
        guard mkdir(dir, 0o711) == 0 else {
            if errno == EEXIST { throw .alreadyExists(id: id) }
            throw .system(SystemError("mkdir", path: dir))
        }
        var cleanup = true
        var fds: [Int32] = []
        defer {
            fds.forEach { close($0) }
            if cleanup { try? FileSystem.removeTree(dir) }
        }
        // exec reads the spec the container was created with, not whatever the bundle holds later.
        do { try AtomicFile.write(specBytes, to: store.specPath(id), mode: 0o600, durable: false) } catch { throw .system(error) }
        for join in plan.joins {
            let fd = open(join.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .system(SystemError("open namespace", path: join.path)) }
            fds.append(fd)
        }
        let joinFDs = fds
        let fifo = store.fifoPath(id)
        guard cs_mkfifo(fifo, 0o600) == 0 else { throw .system(SystemError("mkfifo", path: fifo)) }
        // Read-write, so the child's read blocks until `start` writes instead of seeing EOF.
        let fifoFD = open(fifo, O_RDWR | O_CLOEXEC)
        guard fifoFD >= 0 else { throw .system(SystemError("open", path: fifo)) }
        fds.append(fifoFD)

        let placement = try CgroupPlacement.prepare(spec, id: id, devices: devices, systemd: systemdCgroup)
        let cgroupDir = placement.directory
        if placement.fd >= 0 { fds.append(placement.fd) }
        defer { if cleanup { placement.remove() } }
        plan.placeCgroupMounts(directory: cgroupDir)
        (plan.warnings + CgroupResources.warnings(spec.linux?.resources)).forEach(warn)

        let created = WallClock.rfc3339()
        var spawner = Spawner(plan: plan, lastCap: lastCap, joinFDs: joinFDs, cgroupFD: placement.fd, execFifoFD: fifoFD, seccomp: seccomp,
                              preserveFDs: preserveFDs, consoleSocketFD: consoleSocketFD)
        spawner.placeChild = placement.place
        // An init that joins a pid namespace is a grandchild: waiting for it if it fails needs this.
        if spawner.joinsPIDNamespace, cs_prctl_set_child_subreaper() != 0 {
            throw .system(SystemError("prctl(PR_SET_CHILD_SUBREAPER)"))
        }
        if spec.hooks?.prestart?.isEmpty == false || spec.hooks?.createRuntime?.isEmpty == false {
            spawner.beforePivot = { (pid: Int32) throws(RuntimeError) in
                let state = ContainerState(id: id, pid: pid, status: .creating, bundle: bundle, rootfs: plan.rootfs,
                                           created: created, annotations: spec.annotations)
                try Hooks.run(spec.hooks?.prestart, kind: "prestart", state: state)
                try Hooks.run(spec.hooks?.createRuntime, kind: "createRuntime", state: state)
            }
        }
        let (pid, pidfd) = try spawner.spawn()
        if pidfd >= 0 { close(pidfd) }
        let record = ContainerRecord(
            id: id, bundle: bundle, rootfs: plan.rootfs, pid: pid,
            pidStartTime: ProcessStat.read(pid: pid)?.startTime ?? 0, created: created,
            annotations: spec.annotations, cgroupPath: cgroupDir, hooks: spec.hooks, systemdUnit: placement.unit)
        do {
            try store.save(record)
            if let pidFile { try AtomicFile.write(Array("\(pid)".utf8), to: pidFile, durable: false) }
        } catch {
            Glibc.kill(pid, SIGKILL)
            if let error = error as? RuntimeError { throw error }
            throw .system(error as? SystemError ?? SystemError("save state", errno: EIO))
        }
        cleanup = false
        return Created(pid: pid, record: record)
    }

    /// `start`: releases the init process waiting on the exec FIFO, then runs poststart hooks.
    public func start(id: String) throws(RuntimeError) {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .created else { throw .wrongState(id: id, status: status.rawValue, operation: "start") }
        let fifo = store.fifoPath(id)
        // Non-blocking: the child holds the FIFO open, so this cannot wait; if it somehow does not,
        // ENXIO is a clear error instead of a hang.
        let fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system(SystemError("open", path: fifo)) }
        defer { close(fd) }
        guard write(fd, "0", 1) == 1 else { throw .system(SystemError("write", path: fifo)) }
        unlink(fifo)
        Hooks.runLogged(record.hooks?.poststart, kind: "poststart", state: store.state(of: record), warn: warn)
    }

    func compileSeccomp(_ spec: RuntimeSpec) throws(RuntimeError) -> SeccompProgram? {
        guard let profile = spec.linux?.seccomp else { return nil }
        if let listener = profile.listenerPath, !listener.isEmpty {
            throw .invalidSpec(field: "linux.seccomp.listenerPath", reason: "seccomp user notification is not supported by skiff")
        }
        let program: SeccompProgram
        do {
            program = try SeccompProgram.compile(profile)
        } catch {
            throw .invalidSpec(field: error.field, reason: error.reason)
        }
        if !program.unknownSyscalls.isEmpty {
            warn("seccomp: syscalls unknown to this kernel were skipped: \(program.unknownSyscalls.joined(separator: ", "))")
        }
        return program
    }

    /// runc's rules: a terminal needs somewhere to send the pty, and a socket needs a terminal.
    static func checkConsole(terminal: Bool, consoleSocketFD: Int32) throws(RuntimeError) {
        if terminal && consoleSocketFD < 0 {
            throw .invalidSpec(field: "process.terminal", reason: "a terminal needs a console socket (--console-socket)")
        }
        if !terminal && consoleSocketFD >= 0 {
            throw .invalidSpec(field: "process.terminal", reason: "a console socket was given but terminal is false")
        }
    }

    // MARK: helpers

    static func absolute(_ path: String) throws(RuntimeError) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { throw .system(SystemError("getcwd")) }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.isEmpty || path == "." ? cwd : cwd + "/" + path
    }

    static func loadSpec(path: String) throws(RuntimeError) -> (RuntimeSpec, [UInt8]) {
        try decode(RuntimeSpec.self, path: path, name: "config.json")
    }

    /// An OCI process object (`exec --process FILE`).
    public static func loadProcess(path: String) throws(RuntimeError) -> (RuntimeSpec.Process, [UInt8]) {
        try decode(RuntimeSpec.Process.self, path: path, name: "process.json")
    }

    /// Decodes JSON with errors that name the field (`process.capabilities.bounding[2]: wrong type`).
    static func decode<T: Decodable>(_ type: T.Type, path: String, name: String) throws(RuntimeError) -> (T, [UInt8]) {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path)
        } catch {
            throw .invalidSpec(field: name, reason: "cannot read \(path): \(error.reason)")
        }
        do {
            return (try JSONDecoding.decode(T.self, from: bytes, rejectingNUL: true), bytes)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidSpec(field: Self.codingPath(context.codingPath + [key]), reason: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .invalidSpec(field: Self.codingPath(context.codingPath), reason: "wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            // Either the document is not JSON, or a value is out of range for its field.
            let reason = (context.underlyingError as? JSONSyntaxError).map { "not valid JSON (\($0.reason) at byte \($0.offset))" }
            throw .invalidSpec(field: context.codingPath.isEmpty ? name : Self.codingPath(context.codingPath),
                               reason: reason ?? context.debugDescription)
        } catch {
            throw .invalidSpec(field: name, reason: "\(error)")
        }
    }

    /// `process.capabilities.bounding[2]` from a decoding path.
    static func codingPath(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
        }
        return out
    }

    static func lastCap() -> Int {
        guard let bytes = try? AtomicFile.read("/proc/sys/kernel/cap_last_cap"),
            let value = Int(String(decoding: bytes, as: UTF8.self).filter(\.isNumber))
        else { return 40 }
        return value
    }

    /// The facts about this machine a plan depends on.
    static func host(bundle: String, lastCap: Int) -> SpawnPlan.Host {
        let appArmor = (try? AtomicFile.read("/sys/module/apparmor/parameters/enabled"))?.first == UInt8(ascii: "Y")
        return SpawnPlan.Host(bundle: bundle, lastCap: lastCap, isDirectory: isDirectory, appArmor: appArmor,
                              seLinux: FileSystem.exists("/sys/fs/selinux/enforce"))
    }

    @Sendable static func isDirectory(_ path: String) -> Bool? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }
}
