import ArgumentParser
import CRIAPI
import JSONCoding

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display information of the container runtime.")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("o"), .long], help: "Output format: json or yaml.")
    var output: OutputFormat = .json

    @Flag(name: [.customShort("q"), .long], help: "Do not show verbose information.")
    var quiet = false

    func run() async throws {
        let request = Runtime_V1_StatusRequest.with { $0.verbose = !quiet }
        let reply = try await Session.run(global, .runtime, doing: "getting status of runtime") { cri in
            try await cri.runtime.status(request, options: cri.options)
        }
        Session.debug(global, "StatusResponse", reply)
        print(try output.render(try Self.document(reply)))
    }

    /// The document crictl prints: `status`, handlers and features when the runtime reports them,
    /// and each verbose info entry, parsed when it is a JSON object.
    static func document(_ reply: Runtime_V1_StatusResponse) throws -> JSONValue {
        var members: [String: JSONValue] = ["status": try Session.json(reply.status, template: ReplyTemplates.runtimeStatus)]
        if !reply.runtimeHandlers.isEmpty {
            members["runtimeHandlers"] = .array(try reply.runtimeHandlers.map { try Session.json($0, protoNames: true) })
        }
        if reply.hasFeatures {
            members["features"] = try Session.json(reply.features, protoNames: true)
        }
        for (key, value) in reply.info {
            if value.hasPrefix("{") {
                members[key] = try JSONValue.parse(value)
            } else {
                members[key] = .string(String(value.drop { $0 == "\"" }.reversed().drop { $0 == "\"" }.reversed()))
            }
        }
        return .object(members)
    }
}
