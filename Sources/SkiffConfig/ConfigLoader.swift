#if canImport(Glibc)
import Glibc
#endif

/// Loads the configuration: built-in defaults, then the main file, then every `*.toml` drop-in of
/// `<dir>/config.d` in lexical order; each later file overrides the keys it sets.
public enum ConfigLoader {
    public static let defaultPath = "/etc/skiff/config.toml"

    /// Loads from `path`. A missing main file is fine at the default path (defaults apply);
    /// a path the operator named explicitly must exist.
    public static func load(path: String = defaultPath, mustExist: Bool = false) throws(ConfigError) -> SkiffConfiguration {
        var config = SkiffConfiguration()
        if let text = try readIfPresent(path, mustExist: mustExist) {
            try apply(text: text, file: path, to: &config)
        }
        let dropInDir = directory(of: path) + "/config.d"
        for file in tomlFiles(in: dropInDir) {
            if let text = try readIfPresent(file, mustExist: true) {
                try apply(text: text, file: file, to: &config)
            }
        }
        return config
    }

    /// Applies one file's text on top of `config`.
    public static func apply(text: String, file: String, to config: inout SkiffConfiguration) throws(ConfigError) {
        let table: TOMLTable
        do {
            table = try TOMLParser.parse(text)
        } catch {
            throw .syntax(file: file, line: error.line, message: error.message)
        }
        for name in table.keys {
            guard let entry = table[name] else { continue }
            if ConfigSchema.sections.contains(name) {
                guard case .table(let section) = entry.value else {
                    throw .badValue(file: file, line: entry.line, key: name, message: "expected a table")
                }
                for key in section.keys {
                    guard let inner = section[key] else { continue }
                    try applyKey(section: name, name: key, entry: inner, file: file, to: &config)
                }
            } else {
                try applyKey(section: "", name: name, entry: entry, file: file, to: &config)
            }
        }
    }

    private static func applyKey(
        section: String, name: String, entry: TOMLEntry, file: String, to config: inout SkiffConfiguration
    ) throws(ConfigError) {
        let path = section.isEmpty ? name : section + "." + name
        guard let key = ConfigSchema.key(section: section, name: name) else {
            throw .unknownKey(file: file, line: entry.line, key: path)
        }
        do {
            try key.apply(&config, entry.value)
        } catch {
            throw .badValue(file: file, line: entry.line, key: path, message: error.message)
        }
    }

    // MARK: files

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func readIfPresent(_ path: String, mustExist: Bool) throws(ConfigError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let err = errno
            if err == ENOENT, !mustExist { return nil }
            throw .unreadable(file: path, reason: String(cString: strerror(err)))
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(file: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            data += buffer[0..<n]
            // A configuration file is small; refuse anything that is clearly not one.
            if data.count > 1 << 20 { throw .unreadable(file: path, reason: "larger than 1 MiB") }
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw .unreadable(file: path, reason: "not valid UTF-8")
        }
        return text
    }

    /// `*.toml` files of a directory, sorted by name; a missing directory has none.
    static func tomlFiles(in dir: String) -> [String] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".toml"), !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { dir + "/" + $0 }
    }
}
