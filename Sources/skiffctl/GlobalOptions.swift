import ArgumentParser
import CRIClient
import Foundation

/// Connection flags shared by every command, with crictl's names. Precedence, as in crictl:
/// flag, then environment variable, then the config file, then the built-in default.
struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("r"), .long], help: "Runtime endpoint (env CONTAINER_RUNTIME_ENDPOINT).")
    var runtimeEndpoint: String?

    @Option(name: [.customShort("i"), .long], help: "Image endpoint (env IMAGE_SERVICE_ENDPOINT).")
    var imageEndpoint: String?

    @Option(name: [.customShort("t"), .long], help: "Timeout of each call, e.g. 2s or 1m (default 10s).")
    var timeout: String?

    @Option(name: [.customShort("c"), .long], help: "Client config file (env CRI_CONFIG_FILE).")
    var config: String?

    @Flag(name: [.customShort("D"), .long], help: "Print the requests and replies.")
    var debug = false

    /// The resolved connection settings.
    func resolve() throws -> (runtime: CRIEndpoint, image: CRIEndpoint, timeout: Duration) {
        let env = ProcessInfo.processInfo.environment
        let explicitFile = config ?? env["CRI_CONFIG_FILE"]
        let file = try ClientConfigFile.load(path: explicitFile ?? ClientConfigFile.defaultPath)
        let runtimeText = runtimeEndpoint ?? env["CONTAINER_RUNTIME_ENDPOINT"] ?? file.runtimeEndpoint
            ?? CRIEndpoint.defaultPath
        // As in crictl, the image service defaults to the runtime endpoint.
        let imageText = imageEndpoint ?? env["IMAGE_SERVICE_ENDPOINT"] ?? file.imageEndpoint ?? runtimeText
        var seconds = Duration.seconds(file.timeoutSeconds ?? 10)
        if let timeout { seconds = try Self.parseDuration(timeout) }
        return (try CRIEndpoint(runtimeText), try CRIEndpoint(imageText), seconds)
    }

    /// Go-style durations (`500ms`, `2s`, `1m`) or a bare number of seconds.
    static func parseDuration(_ text: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let n = Double(text.dropLast(suffix.count)), n > 0 { return .milliseconds(Int64(n * scale * 1000)) }
        }
        if let n = Double(text), n > 0 { return .milliseconds(Int64(n * 1000)) }
        throw ValidationError("invalid timeout '\(text)': use a duration such as 2s or 500ms")
    }
}

/// The same connection flags for `exec` and `attach`, where crictl's -i and -t mean interactive and
/// tty: there the image endpoint and timeout are long options only.
struct StreamGlobalOptions: ParsableArguments {
    @Option(name: [.customShort("r"), .long], help: "Runtime endpoint (env CONTAINER_RUNTIME_ENDPOINT).")
    var runtimeEndpoint: String?

    @Option(name: .long, help: "Image endpoint (env IMAGE_SERVICE_ENDPOINT).")
    var imageEndpoint: String?

    @Option(name: .long, help: "Timeout of each call, e.g. 2s or 1m (default 10s).")
    var timeout: String?

    @Option(name: [.customShort("c"), .long], help: "Client config file (env CRI_CONFIG_FILE).")
    var config: String?

    @Flag(name: [.customShort("D"), .long], help: "Print the requests and replies.")
    var debug = false

    /// As the shared options, parsed from the same values.
    func shared() throws -> GlobalOptions {
        var args: [String] = []
        for (flag, value) in [("--runtime-endpoint", runtimeEndpoint), ("--image-endpoint", imageEndpoint), ("--timeout", timeout), ("--config", config)] {
            if let value { args += [flag, value] }
        }
        return try GlobalOptions.parse(args + (debug ? ["--debug"] : []))
    }
}
