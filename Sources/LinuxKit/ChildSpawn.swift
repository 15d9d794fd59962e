#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// Starts `path` with the given descriptors as its stdin, stdout and stderr (-1: /dev/null) and
    /// returns at once; the caller waits with `waitExit`. The descriptors stay the caller's.
    public static func spawn(_ path: String, _ args: [String], stdin: Int32, stdout: Int32, stderr: Int32) throws -> pid_t {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { if null >= 0 { close(null) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            posix_spawn_file_actions_adddup2(&actions, fd >= 0 ? fd : null, target)
        }
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = mergedEnvironment([:]).map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw SpawnError(path: path, errno: rc) }
        return pid
    }

    /// Blocks until `pid` (a child of this process) exits: its code, or 128 + signal.
    public static func waitExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return 255 }
        }
        let signalled = status & 0x7f
        return signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
    }
}

