#if canImport(Glibc)
import Glibc
#endif
import LinuxKit
import Logging
import SkiffConfig

/// swift-log handler printing one logfmt line per event to stderr
/// (`time=… level=… msg="…" key=value`), the shape containerd and CRI-O operators grep.
struct LogfmtHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "time=\(Self.timestamp()) level=\(event.level) msg=\(Self.quote(event.message.description))"
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.quote(merged[key]!.description))"
        }
        line += "\n"
        // One write(2) per line keeps lines whole when several tasks log at once.
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// Quotes a value when it is empty or holds a space, quote, equals sign or control character.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 }
        return needsQuotes ? Quoting.doubleQuoted(value) : value
    }

    /// RFC 3339 in UTC with microseconds.
    static func timestamp() -> String { WallClock.rfc3339(digits: 6) }

}
