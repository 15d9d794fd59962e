#if canImport(Glibc)
import Glibc
#endif

/// CRI timestamps are nanoseconds since the Unix epoch.
public enum WallClock {
    public static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// For deadlines: the monotonic clock, which setting the time does not move.
    public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

extension WallClock {
    /// RFC 3339 in UTC with `digits` (0…9) of the fractional second, e.g. `2026-11-25T05:00:43.365544956Z`.
    public static func rfc3339(digits: Int = 9) -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tm = tm()
        var seconds = ts.tv_sec
        gmtime_r(&seconds, &tm)
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var text = "\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))T"
            + "\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2))"
        if digits > 0 { text += "." + pad(Int(ts.tv_nsec), 9).prefix(min(digits, 9)) }
        return text + "Z"
    }
}
