import ArgumentParser
import CRIAPI
import JSONCoding

struct InspectiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspecti", abstract: "Return the status of one or more images.")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.")
    var output: OutputFormat = .json

    @Flag(name: [.customShort("q"), .long], help: "Do not show verbose information.")
    var quiet = false

    @Argument(help: "IMAGE-ID [IMAGE-ID...]; none means every image.")
    var images: [String] = []

    func run() async throws {
        let replies = try await Session.run(global, .image, doing: "image status") { cri in
            var ids = images
            if ids.isEmpty {
                ids = try await cri.image.listImages(Runtime_V1_ListImagesRequest(), options: cri.options).images.map(\.id)
            }
            var replies: [(String, Runtime_V1_ImageStatusResponse)] = []
            for id in ids {
                let request = Runtime_V1_ImageStatusRequest.with { $0.image.image = id; $0.verbose = !quiet }
                replies.append((id, try await cri.image.imageStatus(request, options: cri.options)))
            }
            return replies
        }
        guard !replies.isEmpty else { throw ValidationError("No IDs provided or nothing found per filter") }
        var documents: [JSONValue] = []
        for (id, reply) in replies {
            Session.debug(global, "ImageStatusResponse", reply)
            guard reply.hasImage else {
                Session.printError("no such image \"\(id)\" present")
                throw ExitCode.failure
            }
            if output == .table {
                print(Self.table(reply, verbose: !quiet), terminator: "")
                continue
            }
            var members: [String: JSONValue] = ["status": try Session.json(reply.image, template: ReplyTemplates.image)]
            for (key, value) in reply.info {
                members[key] = value.hasPrefix("{") ? try JSONValue.parse(value) : .string(value)
            }
            documents.append(.object(members))
        }
        // crictl prints one document for one image and an array for several.
        if output != .table { print(try output.render(documents.count == 1 ? documents[0] : .array(documents))) }
    }

    static func table(_ reply: Runtime_V1_ImageStatusResponse, verbose: Bool) -> String {
        var out = "ID: \(reply.image.id)\n"
        out += reply.image.repoTags.map { "Tag: \($0)\n" }.joined() + reply.image.repoDigests.map { "Digest: \($0)\n" }.joined()
        out += "Size: \(ImagesCommand.humanSize(reply.image.size))\n"
        if verbose { out += "Info: map[\(reply.info.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " "))]\n" }
        return out
    }
}
