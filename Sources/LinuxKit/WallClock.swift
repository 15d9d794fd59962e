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
}
