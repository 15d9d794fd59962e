#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LinuxKit
import SkiffConfig

/// Error and warning lines, to stderr and (with `--log`) appended to the log file in runc's
/// text or JSON form (`{"level":"error","msg":"…","time":"…"}`), which containerd shows to users.
struct Log {
    let path: String?
    let json: Bool

    func write(level: String, _ message: String) {
        var out = Array("skiff: \(level == "error" ? "" : level + ": ")\(message)\n".utf8)
        _ = out.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        guard let path else { return }
        let line = json
            ? "{\"level\":\"\(level)\",\"msg\":\(Self.quote(message)),\"time\":\"\(Self.time())\"}\n"
            : "time=\"\(Self.time())\" level=\(level) msg=\(Self.quote(message))\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    static func quote(_ s: String) -> String { Quoting.doubleQuoted(s) }

    static func time() -> String { WallClock.rfc3339(digits: 0) }

}

/// A failure already reported to the user: exits 1 without argument-parser's own message.
enum Report {
    static func failure(_ message: String, _ options: GlobalOptions) -> ExitCode {
        RuntimeContext(root: options.root, log: Log(path: options.log, json: options.logFormat == "json")).failure(message)
    }
}
