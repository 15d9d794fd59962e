#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

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

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += "\\u00" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func time() -> String {
        var now = time_t()
        Glibc.time(&now)
        var tm = tm()
        gmtime_r(&now, &tm)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &tm)
        return String(cString: buffer)
    }
}

/// A failure already reported to the user: exits 1 without argument-parser's own message.
enum Report {
    static func failure(_ message: String, _ options: GlobalOptions) -> ExitCode {
        Log(path: options.log, json: options.logFormat == "json").write(level: "error", message)
        return ExitCode.failure
    }
}
