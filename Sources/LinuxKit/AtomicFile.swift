#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Writes a file so that readers see either the old or the new content, never a mix, and (when
/// `durable`) the new content survives a crash: temp file → fsync → rename → fsync of the directory.
/// State that dies with the machine anyway (a runtime's container records) skips the fsyncs, which
/// cost milliseconds on a disk.
public enum AtomicFile {
    /// Writes a file that must not exist yet (EEXIST otherwise), never through a symlink at `path`;
    /// on failure nothing is left behind.
    public static func createNew(_ bytes: [UInt8], at path: String, mode: mode_t = 0o644, sync: Bool = false) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let err = SystemError("write", path: path)
                close(fd)
                unlink(path)
                throw err
            }
            offset += n
        }
        guard !sync || fsync(fd) == 0 else {
            let err = SystemError("fsync", path: path)
            close(fd)
            unlink(path)
            throw err
        }
        close(fd)
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        // Named by thread, not only by process: two threads writing the same file at once would
        // otherwise share (and truncate) one temp file. A leftover of an earlier thread with this id
        // goes; anything planted in its place after that makes the exclusive create fail instead of
        // being followed.
        let temp = path + ".tmp-\(getpid())-\(cs_gettid())"
        unlink(temp)
        try createNew(bytes, at: temp, mode: mode, sync: durable)
        guard rename(temp, path) == 0 else {
            let err = SystemError("rename", path: path)
            unlink(temp)
            throw err
        }
        guard durable else { return }
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Reads a whole file.
    public static func read(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: path)
            }
            if n == 0 { return out }
            out += buffer[0..<n]
            if out.count > limit { throw SystemError("read", path: path, errno: EFBIG) }
        }
    }
}
