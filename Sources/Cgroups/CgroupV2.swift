#if canImport(Glibc)
import Glibc
#endif
import CShims
import LinuxKit

/// Errors of cgroup management; `RuntimeEngine` reports them as `RuntimeError.cgroup`.
public struct CgroupError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The cgroup v2 hierarchy: where it is mounted, and container cgroups inside it. Skiff manages
/// cgroup v2 only; on a hybrid host that is the `unified` mount, whatever its controllers.
public struct CgroupV2: Sendable {
    /// The mount point of the v2 hierarchy (root injectable for tests).
    public let root: String

    public init(root: String) { self.root = root }

    /// Finds the cgroup2 mount: the usual places by their filesystem type (one statfs each),
    /// else the first cgroup2 entry of /proc/self/mountinfo.
    public static func mounted() throws(CgroupError) -> CgroupV2 {
        for candidate in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            // CGROUP2_SUPER_MAGIC
            if cs_filesystem_type(candidate) == 0x6367_7270 { return CgroupV2(root: candidate) }
        }
        guard let bytes = try? AtomicFile.read("/proc/self/mountinfo") else { throw CgroupError("cannot read /proc/self/mountinfo") }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            // "… mountpoint options - fstype source superoptions": the type follows " - ".
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count > 4 { return CgroupV2(root: String(fields[4])) }
        }
        throw CgroupError("no cgroup v2 hierarchy is mounted; skiff needs cgroup v2")
    }

    /// The v2 cgroup of the calling process ("0::/path" in /proc/self/cgroup).
    static func ownCgroup() -> String {
        guard let bytes = try? AtomicFile.read("/proc/self/cgroup") else { return "/" }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return "/"
    }

    /// The directory for a container with the cgroupfs driver, as runc's: `cgroupsPath` absolute
    /// within the hierarchy, or relative to the parent of the caller's own cgroup (the caller's
    /// cgroup has processes, so it cannot have controllers enabled for children), or
    /// `/skiff/<id>` when the spec names none. A systemd-style `slice:prefix:name` is, as for runc
    /// without --systemd-cgroup, just a relative name.
    public func directory(for cgroupsPath: String?, id: String) throws(CgroupError) -> String {
        var path = cgroupsPath ?? ""
        if path.isEmpty { path = "/skiff/" + id }
        if !path.hasPrefix("/") {
            let own = Self.ownCgroup()
            let parent = own.lastIndex(of: "/").map { String(own[..<$0]) } ?? ""
            path = parent + "/" + path
        }
        let parts = path.split(separator: "/")
        guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." }) else {
            throw CgroupError("'\(cgroupsPath ?? "")' is not a usable cgroup path")
        }
        return root + "/" + parts.joined(separator: "/")
    }

    /// Controllers available to children of `dir`'s parent (`cgroup.controllers`).
    func available(below dir: String) -> Set<String> {
        let parent = dir.lastIndex(of: "/").map { String(dir[..<$0]) } ?? root
        guard let bytes = try? AtomicFile.read(parent + "/cgroup.controllers") else { return [] }
        return Set(String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    /// Creates `dir` (and its parents) with `controllers` enabled on the way down, writes the
    /// resource files, and returns a directory descriptor for `clone3(CLONE_INTO_CGROUP)`.
    public func create(_ dir: String, files: [CgroupFile]) throws(CgroupError) -> Int32 {
        let controllers = Set(files.compactMap(\.controller))
        let relative = dir.dropFirst(root.count).split(separator: "/")
        var current = root
        for part in relative {
            if !controllers.isEmpty {
                let have = available(below: current + "/" + part)
                let missing = controllers.subtracting(have).sorted()
                guard missing.isEmpty else {
                    throw CgroupError("the \(missing.joined(separator: ", ")) controller\(missing.count > 1 ? "s are" : " is") not available in \(current) (available: \(have.sorted().joined(separator: " ")))")
                }
                let enable = controllers.sorted().map { "+" + $0 }.joined(separator: " ")
                try write(current + "/cgroup.subtree_control", enable)
            }
            current += "/" + part
            if mkdir(current, 0o755) != 0, errno != EEXIST { throw CgroupError("mkdir \(current): \(SystemError("", errno: errno).reason)") }
        }
        for file in files { try write(dir + "/" + file.name, file.value) }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError("open \(dir): \(SystemError("", errno: errno).reason)") }
        return fd
    }

    /// Removes the container's cgroup; retries briefly while the kernel still counts exiting tasks.
    public func remove(_ dir: String) throws(CgroupError) {
        for _ in 0..<200 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            guard errno == EBUSY else { break }
            usleep(1000)
        }
        throw CgroupError("cannot remove \(dir): \(SystemError("", errno: errno).reason)")
    }

    /// SIGKILL to every process of the cgroup at once (`cgroup.kill`, Linux 5.14+).
    public func killAll(_ dir: String) throws(CgroupError) {
        try write(dir + "/cgroup.kill", "1")
    }

    /// Pids in the cgroup.
    public func processes(_ dir: String) -> [Int32] {
        guard let bytes = try? AtomicFile.read(dir + "/cgroup.procs") else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
    }

    func write(_ path: String, _ value: String) throws(CgroupError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError("open \(path): \(SystemError("", errno: errno).reason)") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw CgroupError("write \(value) to \(path): \(SystemError("", errno: errno).reason)") }
    }
}
