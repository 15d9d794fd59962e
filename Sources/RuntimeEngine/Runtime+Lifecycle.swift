#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import CShims
import LinuxKit
import OCI
import SystemdBus

extension Runtime {
    public func state(id: String) throws(RuntimeError) -> ContainerState {
        store.state(of: try store.load(id))
    }

    public func list() -> [ContainerState] {
        store.ids().compactMap { try? store.state(of: store.load($0)) }
    }

    /// Signal names as runc accepts them: `KILL`, `SIGKILL` or `9`.
    public static func signalNumber(_ text: String) -> Int32? {
        if let n = Int32(text), (1...64).contains(n) { return n }
        let name = text.uppercased().hasPrefix("SIG") ? String(text.uppercased().dropFirst(3)) : text.uppercased()
        let table: [String: Int32] = [
            "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
            "IOT": SIGABRT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV,
            "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT,
            "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU,
            "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF,
            "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
        ]
        return table[name]
    }

    /// A pidfd for the container's init, or nil when it is gone. The start-time check closes the
    /// window in which a recycled pid would be signalled instead.
    func initPidfd(_ record: ContainerRecord) -> Int32? {
        let fd = cs_pidfd_open(record.pid)
        guard fd >= 0 else { return nil }
        guard let stat = ProcessStat.read(pid: record.pid), stat.startTime == record.pidStartTime, stat.state != "Z" else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Signals the init; with `all`, every process in the container's cgroup. As in runc, `--all`
    /// also works once the init has exited (the shim kills what the init left behind, then), and
    /// is a no-op when the cgroup is gone already.
    public func kill(id: String, signal: Int32, all: Bool = false) throws(RuntimeError) {
        let record = try store.load(id)
        if all, let dir = record.cgroupPath, let cgroups = try? CgroupV2.mounted() {
            guard FileSystem.exists(dir) else { return }
            if signal == SIGKILL {
                do { try cgroups.killAll(dir) } catch { throw .cgroup(error.message) }
            } else {
                for pid in cgroups.processes(dir) { Glibc.kill(pid, signal) }
            }
            return
        }
        guard let fd = initPidfd(record) else { throw .wrongState(id: id, status: "stopped", operation: "kill") }
        defer { close(fd) }
        guard cs_pidfd_send_signal(fd, signal) == 0 else { throw .system(SystemError("pidfd_send_signal", path: id)) }
    }

    /// `delete`: a stopped (or, with `force`, any) container loses its process, cgroup and record.
    public func delete(id: String, force: Bool) throws(RuntimeError) {
        let record: ContainerRecord
        do {
            record = try store.load(id)
        } catch .notFound(let id) {
            throw .notFound(id: id)
        }
        let status = store.status(of: record)
        if status == .running && !force { throw .wrongState(id: id, status: "running", operation: "delete") }
        // Each cleanup step must succeed before the record goes: a record removed after a failed
        // step would leave a process or a cgroup that nothing owns any more. `delete` again retries.
        if let fd = initPidfd(record) {
            defer { close(fd) }
            _ = cs_pidfd_send_signal(fd, SIGKILL)
            // The pidfd turns readable when the process has exited: no sleep-and-poll needed.
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) == 1 else {
                throw .system(SystemError("wait for the exit of \(record.pid)", path: id, errno: ETIMEDOUT))
            }
        }
        if let dir = record.cgroupPath, let cgroups = try? CgroupV2.mounted() {
            do throws(CgroupError) {
                // Anything the init left behind in its cgroup goes with it.
                if !cgroups.processes(dir).isEmpty { try cgroups.killAll(dir) }
                // systemd removes a scope's cgroup itself once the scope stops.
                if let unit = record.systemdUnit {
                    do { try SystemdManager().stopUnit(unit) } catch { throw CgroupError("systemd: stopping \(unit): \(error)") }
                }
                try cgroups.remove(dir)
            } catch {
                throw .cgroup("\(error.message); the container's record is kept: delete it again")
            }
        }
        Hooks.runLogged(record.hooks?.poststop, kind: "poststop", state: store.state(of: record), warn: warn)
        do {
            try FileSystem.removeTree(store.directory(id))
        } catch {
            throw .system(error)
        }
    }

    /// Waits for a container this process created (its child) and returns a shell-style status.
    public func wait(pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 255 }
        }
        let signalled = status & 0x7f
        return signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
    }
}
