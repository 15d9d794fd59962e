import ArgumentParser
import CRIAPI
import Foundation

/// `skiffctl logs`: crictl's reading of a container's CRI log file (the path ContainerStatus gives),
/// with --tail, --since, --timestamps and --follow until the container exits.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Fetch the logs of a container.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Follow the log until the container exits.") var follow = false
    @Option(help: "Number of lines to show from the end (-1: all).") var tail: Int64 = -1
    @Option(help: "Show lines since a time (RFC 3339) or a duration ago (42s, 5m, 1h).") var since: String?
    // Long only: -t is the global call timeout here.
    @Flag(name: .long, help: "Show the time of each line.") var timestamps = false
    @Argument(help: "CONTAINER-ID") var id: String

    func run() async throws {
        let status = try await Session.run(global, .runtime, doing: "getting the status of the container \"\(id)\"") { cri in
            try await cri.runtime.containerStatus(.with { $0.containerID = id }, options: cri.options).status
        }
        guard !status.logPath.isEmpty else { throw ValidationError("the container has no log path") }
        let cutoff = try since.map { try CRILog.parseSince($0) }
        var reader = CRILog.Reader(path: status.logPath)
        var lines = reader.readAvailable().filter { cutoff == nil || $0.time >= cutoff! }
        if tail >= 0 { lines = Array(lines.suffix(Int(tail))) }
        lines.forEach { emit($0) }
        guard follow else { return }
        while true {
            let more = reader.readAvailable()
            more.forEach { emit($0) }
            if more.isEmpty {
                let state = try await Session.run(global, .runtime, doing: "following the log") { cri in
                    try await cri.runtime.containerStatus(.with { $0.containerID = id }, options: cri.options).status.state
                }
                if state != .containerRunning && state != .containerCreated {
                    reader.readAvailable().forEach { emit($0) }
                    return
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private func emit(_ line: CRILog.Line) {
        var bytes = timestamps ? Array((line.timestamp + " ").utf8) : []
        bytes += line.content
        if !line.partial { bytes.append(UInt8(ascii: "\n")) }
        FileHandle(fileDescriptor: line.stream == "stderr" ? 2 : 1).write(Data(bytes))
    }
}

/// The CRI log format: `<RFC3339Nano> <stdout|stderr> <F|P> <content>` per line.
enum CRILog {
    struct Line: Equatable {
        var timestamp: String
        var time: Date
        var stream: String
        var partial: Bool
        var content: [UInt8]
    }

    static func parse(_ raw: ArraySlice<UInt8>) -> Line? {
        let fields = raw.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3 else { return nil }
        let timestamp = String(decoding: fields[0], as: UTF8.self)
        guard let time = parseTime(timestamp) else { return nil }
        let tag = String(decoding: fields[2], as: UTF8.self)
        guard tag == "F" || tag == "P" else { return nil }
        return Line(timestamp: timestamp, time: time, stream: String(decoding: fields[1], as: UTF8.self), partial: tag == "P",
                    content: fields.count > 3 ? Array(fields[3]) : [])
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        // The fraction apart: ISO8601DateFormatter keeps only milliseconds of it.
        guard let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) else {
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: text)
        }
        let fraction = Double("0" + text[dot..<zone]) ?? 0
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: String(text[..<dot]) + String(text[zone...])).map { $0.addingTimeInterval(fraction) }
    }

    /// An RFC 3339 time, or a duration before now (`42s`, `5m`, `1h`, `1h30m`).
    static func parseSince(_ text: String, now: Date = Date()) throws -> Date {
        if let date = parseTime(text) { return date }
        var seconds = 0.0, number = ""
        for c in text {
            if c.isNumber || c == "." { number.append(c); continue }
            guard let value = Double(number), let unit = ["s": 1.0, "m": 60, "h": 3600][String(c)] else {
                throw ValidationError("--since: '\(text)' is neither an RFC 3339 time nor a duration like 5m")
            }
            seconds += value * unit
            number = ""
        }
        guard number.isEmpty, seconds > 0 else { throw ValidationError("--since: '\(text)' is neither an RFC 3339 time nor a duration like 5m") }
        return now.addingTimeInterval(-seconds)
    }

    /// Reads whole lines as they are appended; after a rotation (a new file at the path) it goes on
    /// with the new file.
    struct Reader {
        let path: String
        var handle: FileHandle?
        var inode: UInt64 = 0
        var pending: [UInt8] = []

        init(path: String) { self.path = path }

        mutating func readAvailable() -> [Line] {
            let current = (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64) ?? 0
            if handle == nil || (current != 0 && current != inode) {
                if let handle { pending += handle.readDataToEndOfFile() }
                handle = FileHandle(forReadingAtPath: path)
                inode = current
            }
            guard let handle else { return [] }
            pending += handle.readDataToEndOfFile()
            guard let last = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
            let complete = pending[..<last]
            pending = Array(pending[(last + 1)...])
            return complete.split(separator: UInt8(ascii: "\n")).compactMap(CRILog.parse)
        }
    }
}
