#if canImport(Glibc)
import Glibc
#endif

/// The running kernel's release, for features that came with a version rather than a file to probe.
public enum KernelRelease {
    /// Whether uname's release ("6.1.0-27-amd64") is at least major.minor; false when it cannot be read.
    public static func atLeast(_ major: Int, _ minor: Int) -> Bool {
        var host = utsname()
        guard uname(&host) == 0 else { return false }
        let release = withUnsafeBytes(of: host.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) >= (major, minor)
    }
}
