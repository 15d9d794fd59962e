import Foundation

/// The crictl.yaml-style file: flat `key: value` lines (`runtime-endpoint`, `image-endpoint`,
/// `timeout`, `debug`). Unknown keys are ignored, as crictl ignores them.
struct ClientConfigFile: Equatable {
    var runtimeEndpoint: String?
    var imageEndpoint: String?
    var timeoutSeconds: Int?
    var debug: Bool?

    static let defaultPath = "/etc/skiff/skiffctl.yaml"

    struct Invalid: Error, CustomStringConvertible {
        let file: String
        let line: Int
        let message: String
        var description: String { "\(file):\(line): \(message)" }
    }

    /// Reads `path`; as with crictl, a missing file means no settings, but a bad one is an error.
    static func load(path: String) throws -> ClientConfigFile {
        guard FileManager.default.fileExists(atPath: path) else { return ClientConfigFile() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(file: path, line: 0, message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    static func parse(_ text: String, file: String) throws -> ClientConfigFile {
        var config = ClientConfigFile()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line == "---" { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw Invalid(file: file, line: index + 1, message: "expected 'key: value'")
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            switch key {
            case "runtime-endpoint": config.runtimeEndpoint = value
            case "image-endpoint": config.imageEndpoint = value
            case "timeout":
                guard let seconds = Int(value), seconds >= 0 else {
                    throw Invalid(file: file, line: index + 1, message: "timeout must be a whole number of seconds")
                }
                config.timeoutSeconds = seconds
            case "debug": config.debug = value == "true"
            default: continue
            }
        }
        return config
    }
}
