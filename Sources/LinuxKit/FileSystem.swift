#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Small path helpers over Glibc; none of them follows a path outside what it was given.
public enum FileSystem {
    /// `mkdir -p` with `mode` for directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, mode) != 0, errno != EEXIST {
                throw SystemError("mkdir", path: prefix)
            }
        }
    }

    /// Removes a file; a missing file is not an error.
    public static func removeFile(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT { throw SystemError("unlink", path: path) }
    }

    /// This process's mount table, whole. (Foundation's String(contentsOfFile:) stops after the
    /// first read of a /proc file: a long table came back cut, and checks on it passed wrongly.)
    public static func mountInfo() -> String {
        String(decoding: (try? AtomicFile.read("/proc/self/mountinfo")) ?? [], as: UTF8.self)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Names in a directory (without `.` and `..`); a missing directory has none.
    public static func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// A symlink's target (as /proc/<pid>/fd shows what a descriptor is); nil where it is none.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A device number's major and minor (glibc's major()/minor() are macros Swift cannot call:
    /// the kernel's dev_t layout).
    public static func deviceNumbers(_ dev: UInt64) -> (major: UInt64, minor: UInt64) {
        ((dev >> 8) & 0xfff | (dev >> 32) & ~0xfff, dev & 0xff | (dev >> 12) & ~0xff)
    }

    public static func chmod(_ path: String, _ mode: mode_t) throws {
        if Glibc.chmod(path, mode) != 0 { throw SystemError("chmod", path: path) }
    }

    public static func chown(_ path: String, uid: uid_t, gid: gid_t) throws {
        if Glibc.chown(path, uid, gid) != 0 { throw SystemError("chown", path: path) }
    }
}

extension FileSystem {
    /// `rm -rf` that never follows a symlink and never descends into a mount: every step is
    /// relative to a descriptor of the directory already checked, so a directory swapped for a
    /// symlink between the check and the open is refused (O_NOFOLLOW, then the same inode), and a
    /// mount point inside the tree (a bind of the host's `/`, say) stops the removal with EBUSY
    /// instead of emptying the mounted filesystem.
    public static func removeTree(_ path: String) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else { throw SystemError("remove", path: path, errno: EINVAL) }
        let parentFD = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parentFD >= 0 else {
            if errno == ENOENT { return }
            throw SystemError("open", path: parent)
        }
        defer { close(parentFD) }
        try removeEntry(parentFD, name, path: path)
    }

    private static func removeEntry(_ dirFD: Int32, _ name: String, path: String) throws(SystemError) {
        var st = stat()
        guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("lstat", path: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            if unlinkat(dirFD, name, 0) != 0, errno != ENOENT { throw SystemError("unlink", path: path) }
            return
        }
        if cs_is_mount_root(dirFD, name) == 1 { throw SystemError("remove (a mount point)", path: path, errno: EBUSY) }
        let fd = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_ino == st.st_ino, opened.st_dev == st.st_dev else {
            close(fd)
            throw SystemError("remove (replaced while being removed)", path: path, errno: ESTALE)
        }
        do {
            for entry in entries(of: fd) { try removeEntry(fd, entry, path: path + "/" + entry) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        if unlinkat(dirFD, name, AT_REMOVEDIR) != 0, errno != ENOENT { throw SystemError("rmdir", path: path) }
    }

    /// Names in the directory open at `fd` (the descriptor stays open and usable).
    private static func entries(of fd: Int32) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return []
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
