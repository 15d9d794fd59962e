#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CRIAPI
import Foundation
import JSONCoding

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from a registry.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "USERNAME[:PASSWORD] for the registry (env CRICTL_CREDS).")
    var creds: String?

    @Option(help: "AUTH_STRING: base64 of USERNAME[:PASSWORD] (env CRICTL_AUTH).")
    var auth: String?

    @Option(name: [.customShort("u"), .long], help: "USERNAME; the password is read from standard input.")
    var username: String?

    @Option(name: [.customShort("a"), .long], help: "Annotation key=value on the pulled image (repeatable).")
    var annotation: [String] = []

    @Option(help: "os/architecture[/variant] to pull from a multi-platform image (skiffd only).")
    var platform: String?

    @Option(name: [.customLong("pull-timeout"), .customLong("pt")], help: "Give up after this long (0s: never).")
    var pullTimeout = "0s"

    @Argument(help: "NAME[:TAG|@DIGEST]")
    var image: String

    func run() async throws {
        let request = try Runtime_V1_PullImageRequest.with {
            $0.image.image = image
            $0.image.annotations = try Self.annotations(annotation)
            if let platform { $0.image.annotations[Self.platformAnnotation] = platform }
            if let auth = try authConfig() { $0.auth = auth }
        }
        Session.debug(global, "PullImageRequest", request)
        let deadline: Session.Deadline = pullTimeout == "0s" || pullTimeout == "0" ? .none : .after(try GlobalOptions.parseDuration(pullTimeout))
        let progress = isatty(STDERR_FILENO) == 1 ? await PullProgress.start(global, image: image) : nil
        defer { progress?.stop() }
        let reply = try await Session.run(global, .image, doing: "pulling image", deadline: deadline) { cri in
            try await cri.image.pullImage(request, options: cri.options)
        }
        progress?.stop()
        print("Image is up to date for \(reply.imageRef)")
    }

    /// The annotation skiffd reads the platform from (CRI has no field for it).
    static let platformAnnotation = "io.skiff.image.platform"

    static func annotations(_ pairs: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("annotation '\(pair)' is not key=value")
            }
            out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return out
    }

    /// crictl's precedence: --creds, then --auth, then --username with a prompted password.
    func authConfig() throws -> Runtime_V1_AuthConfig? {
        let env = ProcessInfo.processInfo.environment
        if let creds = creds ?? env["CRICTL_CREDS"] {
            let parts = creds.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard !parts[0].isEmpty else { throw ValidationError("credentials must be USERNAME[:PASSWORD]") }
            return .with {
                $0.username = parts[0]
                $0.password = parts.count > 1 ? parts[1] : (Self.readPassword() ?? "")
            }
        }
        if let auth = auth ?? env["CRICTL_AUTH"] {
            return .with { $0.auth = auth }
        }
        if let username {
            return .with {
                $0.username = username
                $0.password = Self.readPassword() ?? ""
            }
        }
        return nil
    }

    static func readPassword() -> String? {
        if isatty(STDIN_FILENO) == 1 { FileHandle.standardError.write(Data("Password: ".utf8)) }
        return readLine(strippingNewline: true)
    }
}

/// Pull progress on a terminal. CRI's PullImage is one call without progress, so this watches the
/// daemon's partial downloads (`<root>/content/ingest`, root from the verbose Status) while the
/// call runs: how many layers are downloading and how many bytes have arrived. Without access to
/// that directory (another runtime, another machine) nothing is shown.
final class PullProgress: @unchecked Sendable {
    private let thread: Thread
    private let signal = StopSignal()

    static func start(_ global: GlobalOptions, image: String) async -> PullProgress? {
        guard let reply = try? await Session.run(global, .runtime, doing: "status", { cri in
            try await cri.runtime.status(.with { $0.verbose = true }, options: cri.options)
        }), let config = reply.info["config"], case .object(let members)? = try? JSONValue.parse(config),
              case .string(let root)? = members["root"], access(root + "/content", R_OK) == 0 else { return nil }
        return PullProgress(ingest: root + "/content/ingest", image: image)
    }

    private init(ingest: String, image: String) {
        let signal = self.signal
        thread = Thread {
            let start = Date()
            var shown = false
            while !signal.wait(seconds: 0.2) {
                let files = (try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []
                let bytes = files.reduce(UInt64(0)) { total, name in
                    total + ((try? FileManager.default.attributesOfItem(atPath: ingest + "/" + name)[.size] as? UInt64) ?? 0)
                }
                let line = "Pulling \(image): \(files.count) layer\(files.count == 1 ? "" : "s") downloading, "
                    + "\(ImageFsInfoCommand.humanSize(bytes)) received, \(Int(Date().timeIntervalSince(start)))s"
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
                shown = true
            }
            if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
        thread.start()
    }

    /// Ends the display and clears its line; safe to call twice.
    func stop() {
        signal.fire()
        while !thread.isFinished { usleep(1000) }
    }
}

/// A flag one thread sets and another waits on with a timeout.
private final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var fired = false

    func wait(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !fired { condition.wait(until: Date().addingTimeInterval(seconds)) }
        return fired
    }

    func fire() {
        condition.lock()
        fired = true
        condition.signal()
        condition.unlock()
    }
}
