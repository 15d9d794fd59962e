#if canImport(Glibc)
import Glibc
#endif

/// What /proc says about a process: enough to tell a live container init from a recycled pid.
public struct ProcessStat: Equatable, Sendable {
    /// One-letter state (R, S, D, Z, T…).
    public var state: Character
    /// Start time in clock ticks since boot (field 22 of /proc/<pid>/stat).
    public var startTime: UInt64

    /// nil when the process does not exist.
    public static func read(pid: Int32) -> ProcessStat? {
        guard pid > 0, let bytes = try? AtomicFile.read("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name may contain spaces and parentheses: fields resume after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return ProcessStat(state: state, startTime: start)
    }
}
