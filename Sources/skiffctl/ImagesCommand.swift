import ArgumentParser
import CRIAPI

struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images.", aliases: ["image", "img"])

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("q"), .long], help: "Only show image IDs.")
    var quiet = false

    @Flag(name: [.customShort("v"), .long], help: "Show verbose info for images.")
    var verbose = false

    @Flag(help: "Show digests.")
    var digests = false

    @Flag(name: .customLong("no-trunc"), help: "Show output without truncating the ID.")
    var noTrunc = false

    @Flag(help: "Show whether the image is pinned.")
    var pinned = false

    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.")
    var output: OutputFormat = .table

    @Argument(help: "REPOSITORY[:TAG]")
    var reference: String?

    func run() async throws {
        let request = Runtime_V1_ListImagesRequest.with { if let reference { $0.filter.image.image = reference } }
        let reply = try await Session.run(global, .image, doing: "listing images") { cri in
            try await cri.image.listImages(request, options: cri.options)
        }
        Session.debug(global, "ListImagesResponse", reply)
        if output != .table {
            print(try output.render(try Session.json(reply, template: ReplyTemplates.listImages)))
            return
        }
        print(Self.render(reply.images, quiet: quiet, verbose: verbose, digests: digests, noTrunc: noTrunc, pinned: pinned), terminator: "")
    }

    /// crictl's layouts: IDs only, the verbose key/value blocks, or the table (one row per tag).
    static func render(_ images: [Runtime_V1_Image], quiet: Bool, verbose: Bool, digests: Bool, noTrunc: Bool, pinned: Bool) -> String {
        if quiet { return images.map { $0.id + "\n" }.joined() }
        if verbose {
            return images.map { image in
                var out = "ID: \(image.id)\n"
                out += image.repoTags.map { "RepoTags: \($0)\n" }.joined() + image.repoDigests.map { "RepoDigests: \($0)\n" }.joined()
                if image.size != 0 { out += "Size: \(image.size)\n" }
                if image.hasUid { out += "Uid: value:\(image.uid.value)\n" }
                if !image.username.isEmpty { out += "Username: \(image.username)\n" }
                if image.pinned { out += "Pinned: true\n" }
                return out + "\n"
            }.joined()
        }
        var table = TextTable()
        table.add(["IMAGE", "TAG"] + (digests ? ["DIGEST"] : []) + ["IMAGE ID", "SIZE"] + (pinned ? ["PINNED"] : []))
        for image in images {
            var (name, digest) = ("<none>", "<none>")
            if let first = image.repoDigests.first {
                let parts = first.split(separator: "@", omittingEmptySubsequences: false)
                (name, digest) = parts.count == 2 ? (String(parts[0]), String(parts[1])) : ("errorName", "errorRepoDigest")
            }
            let id = noTrunc ? image.id : truncated(image.id)
            if !noTrunc { digest = truncated(digest) }
            let pairs: [(String, String)] = image.repoTags.isEmpty ? [(name, "<none>")] : image.repoTags.map { tag in
                guard let colon = tag.lastIndex(of: ":") else { return ("errorRepoTag", "errorRepoTag") }
                return (String(tag[..<colon]), String(tag[tag.index(after: colon)...]))
            }
            for (repo, tag) in pairs {
                table.add([repo, tag] + (digests ? [digest] : []) + [id, humanSize(image.size)] + (pinned ? [String(image.pinned)] : []))
            }
        }
        return table.render()
    }

    /// crictl shows 13 characters of an id without its `sha256:`.
    static func truncated(_ id: String) -> String {
        String((id.hasPrefix("sha256:") ? id.dropFirst(7) : Substring(id)).prefix(13))
    }

    /// Docker's `HumanSizeWithPrecision(size, 3)`, as crictl prints image sizes.
    static func humanSize(_ bytes: UInt64) -> String { ImageFsInfoCommand.humanSize(bytes, significantDigits: 3) }
}

/// Go's tabwriter as crictl sets it up (minimum width 20, padding 3, spaces): every column but the
/// last is as wide as its widest cell plus the padding.
struct TextTable {
    private var rows: [[String]] = []

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() where i < row.count - 1 {
                widths[i] = max(widths[i], max(cell.count + 3, 20))
            }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined() + "\n"
        }.joined()
    }
}
