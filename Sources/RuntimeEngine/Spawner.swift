#if canImport(Glibc)
import Glibc
#endif
import CShims
import LinuxKit
import Seccomp

/// One call of the C child path (`cs_spawn`), shared by `create` and `exec`: lays the plan out
/// for C, adds the sealed exec trampoline, runs hooks when the child asks, and turns a failure
/// report into a `RuntimeError`.
struct Spawner {
    var plan: SpawnPlan
    /// The kernel's highest capability number, as the plan was built with.
    var lastCap: Int
    var joinFDs: [Int32] = []
    var cgroupFD: Int32 = -1
    var execFifoFD: Int32 = -1
    var seccomp: SeccompProgram?
    var preserveFDs: Int32 = 0
    var consoleSocketFD: Int32 = -1
    var execMode = false
    /// Runs between the mounts and pivot_root with the child's pid (createRuntime, prestart).
    var beforePivot: ((Int32) throws(RuntimeError) -> Void)?
    /// Puts the waiting child in its cgroup when clone3 cannot (the systemd driver's scope).
    var placeChild: ((Int32) throws(RuntimeError) -> Void)?

    /// setns(CLONE_NEWPID) moves only the caller's children: an init that joins a pid namespace
    /// (a pod's, shared by its containers) is the child's fork, as every exec'd process is.
    /// The process that goes on must be a fork: setns and unshare of a pid namespace apply to children.
    var joinsPIDNamespace: Bool {
        plan.joins.contains { $0.flag == CS_CLONE_NEWPID } || (plan.createsAfterJoin && plan.cloneFlags & CS_CLONE_NEWPID != 0)
    }

    /// The pid of the process (waiting on the FIFO, or for exec already running) and a pidfd of it.
    func spawn() throws(RuntimeError) -> (pid: Int32, pidfd: Int32) {
        let cPlan = CSpawnPlan(plan, joinFDs: joinFDs, cgroupFD: cgroupFD, execFifoFD: execFifoFD,
                               lastCap: Int32(lastCap),
                               seccomp: (UnsafeRawPointer(seccomp?.bytes), seccomp?.instructionCount ?? 0, seccomp?.flags ?? 0),
                               preserveFDs: preserveFDs)
        let trampoline = cs_trampoline_fd()
        defer { if trampoline >= 0 { close(trampoline) } }
        var raw = cPlan.raw
        raw.trampoline_fd = trampoline
        raw.console_socket_fd = consoleSocketFD
        raw.terminal = plan.terminal ? 1 : 0
        raw.mount_console = plan.terminal && !execMode ? 1 : 0
        raw.exec_mode = execMode ? 1 : 0
        raw.fork_after_join = execMode || joinsPIDNamespace ? 1 : 0

        let hooks = HookCall(body: beforePivot)
        if beforePivot != nil {
            raw.before_pivot = { context, pid in
                Unmanaged<HookCall>.fromOpaque(context!).takeUnretainedValue().call(pid)
            }
            raw.before_pivot_context = Unmanaged.passUnretained(hooks).toOpaque()
        }
        let placement = HookCall(body: placeChild)
        if placeChild != nil {
            raw.place_child = { context, pid in
                Unmanaged<HookCall>.fromOpaque(context!).takeUnretainedValue().call(pid)
            }
            raw.place_child_context = Unmanaged.passUnretained(placement).toOpaque()
        }
        var report = cs_report()
        var pidfd: Int32 = -1
        let pid = withUnsafePointer(to: raw) { cs_spawn($0, &report, &pidfd) }
        withExtendedLifetime((cPlan, seccomp, hooks, placement)) {}
        guard pid > 0 else {
            if let error = hooks.error ?? placement.error { throw error }
            throw SpawnFailure.error(report, plan: plan)
        }
        return (pid, pidfd)
    }
}

/// Carries the hook closure through C's `void *` and brings its error back.
private final class HookCall {
    let body: ((Int32) throws(RuntimeError) -> Void)?
    var error: RuntimeError?

    init(body: ((Int32) throws(RuntimeError) -> Void)?) { self.body = body }

    func call(_ pid: Int32) -> Int32 {
        do {
            try body?(pid)
            return 0
        } catch {
            self.error = error
            return EIO
        }
    }
}
