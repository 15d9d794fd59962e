#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import CShims
import FoundationEssentials
import LinuxKit
import OCI
import Seccomp

/// The OCI runtime operations behind `skiff create/start/state/kill/delete/run/list`.
/// Single-threaded by design: namespace work happens in the cloned child, never in this process.
public struct Runtime: Sendable {
    public let store: ContainerStore
    /// Called with warnings worth an operator's attention (the CLI writes them to the log).
    public let warn: @Sendable (String) -> Void

    public init(root: String, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        store = ContainerStore(root: root)
        self.warn = warn
    }

    public struct Created: Sendable {
        public let pid: Int32
        public let record: ContainerRecord
    }

    /// `create`: builds the plan, clones the init process, and leaves it waiting on the exec FIFO.
    public func create(id: String, bundle: String, pidFile: String? = nil, preserveFDs: Int32 = 0) throws(RuntimeError) -> Created {
        try ContainerStore.validate(id: id)
        let bundle = try Self.absolute(bundle)
        let spec = try Self.loadSpec(bundle: bundle)
        let lastCap = Self.lastCap()
        let plan = try SpawnPlan.build(spec, host: .init(bundle: bundle, lastCap: lastCap, isDirectory: Self.isDirectory))
        guard Self.isDirectory(plan.rootfs) == true else {
            throw .invalidSpec(field: "root.path", reason: "\(plan.rootfs) is not a directory")
        }
        var seccomp: SeccompProgram?
        if let profile = spec.linux?.seccomp {
            do {
                seccomp = try SeccompProgram.compile(profile)
            } catch {
                throw .invalidSpec(field: error.field, reason: error.reason)
            }
            if let unknown = seccomp?.unknownSyscalls, !unknown.isEmpty {
                warn("seccomp: syscalls unknown to this kernel were skipped: \(unknown.joined(separator: ", "))")
            }
        }
        if spec.linux?.resources?.devices?.isEmpty == false {
            warn("device cgroup rules are not enforced on cgroup v2 yet; the container sees only the device nodes it is given")
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

        // The cgroup exists, with its limits, before the process does: clone3 starts it inside.
        let cgroups: CgroupV2
        let cgroupDir: String
        let cgroupFD: Int32
        do {
            cgroups = try CgroupV2.mounted()
            cgroupDir = try cgroups.directory(for: spec.linux?.cgroupsPath, id: id)
            cgroupFD = try cgroups.create(cgroupDir, files: CgroupResources.files(spec.linux?.resources))
        } catch {
            throw .cgroup(error.message)
        }
        fds.append(cgroupFD)
        defer { if cleanup { cgroups.remove(cgroupDir) } }
        let cPlan = CSpawnPlan(plan, joinFDs: joinFDs, cgroupFD: cgroupFD, execFifoFD: fifoFD, lastCap: Int32(lastCap),
                               seccomp: (UnsafeRawPointer(seccomp?.bytes), seccomp?.instructionCount ?? 0, seccomp?.flags ?? 0),
                               preserveFDs: preserveFDs)
        var report = cs_report()
        var pidfd: Int32 = -1
        let pid = withUnsafePointer(to: cPlan.raw) { cs_spawn($0, &report, &pidfd) }
        withExtendedLifetime((cPlan, seccomp)) {}
        guard pid > 0 else { throw SpawnFailure.error(report, plan: plan) }
        if pidfd >= 0 { close(pidfd) }
        let record = ContainerRecord(
            id: id, bundle: bundle, rootfs: plan.rootfs, pid: pid,
            pidStartTime: ProcessStat.read(pid: pid)?.startTime ?? 0, created: WallClock.rfc3339(),
            annotations: spec.annotations, cgroupPath: cgroupDir, hooks: spec.hooks)
        do {
            try store.save(record)
            if let pidFile { try AtomicFile.write(Array("\(pid)".utf8), to: pidFile) }
        } catch {
            Glibc.kill(pid, SIGKILL)
            if let error = error as? RuntimeError { throw error }
            throw .system(error as? SystemError ?? SystemError("save state", errno: EIO))
        }
        cleanup = false
        return Created(pid: pid, record: record)
    }

    /// `start`: releases the init process waiting on the exec FIFO.
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
    }

    // MARK: helpers

    static func absolute(_ path: String) throws(RuntimeError) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { throw .system(SystemError("getcwd")) }
        let cwd = String(cString: buffer)
        return path.isEmpty || path == "." ? cwd : cwd + "/" + path
    }

    static func loadSpec(bundle: String) throws(RuntimeError) -> RuntimeSpec {
        let path = bundle + "/config.json"
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path)
        } catch {
            throw .invalidSpec(field: "config.json", reason: "cannot read \(path): \(error.reason)")
        }
        do {
            return try JSONDecoder().decode(RuntimeSpec.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidSpec(field: Self.codingPath(context.codingPath + [key]), reason: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .invalidSpec(field: Self.codingPath(context.codingPath), reason: "wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            throw .invalidSpec(field: context.codingPath.isEmpty ? "config.json" : Self.codingPath(context.codingPath),
                               reason: "not valid JSON")
        } catch {
            throw .invalidSpec(field: "config.json", reason: "\(error)")
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

    @Sendable static func isDirectory(_ path: String) -> Bool? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }
}
