#if canImport(Glibc)
import Glibc
#endif

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

    public static func chmod(_ path: String, _ mode: mode_t) throws {
        if Glibc.chmod(path, mode) != 0 { throw SystemError("chmod", path: path) }
    }

    public static func chown(_ path: String, uid: uid_t, gid: gid_t) throws {
        if Glibc.chown(path, uid, gid) != 0 { throw SystemError("chown", path: path) }
    }
}

extension FileSystem {
    /// `rm -rf` that never follows symlinks and never crosses into another filesystem's mount.
    public static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("lstat", path: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in directoryEntries(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0, errno != ENOENT { throw SystemError("rmdir", path: path) }
        } else if unlink(path) != 0, errno != ENOENT {
            throw SystemError("unlink", path: path)
        }
    }
}
