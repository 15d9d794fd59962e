#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CRIClient
import GRPCCore
import JSONCoding
import SwiftProtobuf

/// Runs one command against the runtime or image endpoint and turns a failed call into crictl's
/// error line (`rpc error: code = Unimplemented desc = …`) and a non-zero exit.
enum Session {
    enum Service { case runtime, image }

    /// The deadline of the calls: `--timeout` for most commands; a pull has its own.
    enum Deadline { case global, none, after(Duration) }

    static func run<Result: Sendable>(
        _ options: GlobalOptions, _ service: Service, doing what: String, deadline: Deadline = .global,
        _ body: (CRIClient) async throws -> Result
    ) async throws -> Result {
        let resolved = try options.resolve()
        let endpoint = service == .runtime ? resolved.runtime : resolved.image
        let timeout: Duration? = switch deadline {
        case .global: resolved.timeout
        case .none: nil
        case .after(let duration): duration
        }
        do {
            return try await CRIClient.with(endpoint: endpoint, timeout: timeout, body)
        } catch let error as RPCError {
            printError("\(what): rpc error: code = \(goName(error.code)) desc = \(error.message)")
            throw ExitCode.failure
        }
    }

    /// crictl's loop over ids for start/stop/rm and their pod forms: one call each, in order, with a
    /// line printed after each success.
    static func each(
        _ options: GlobalOptions, _ ids: [String], doing what: (String) -> String,
        printing done: (String) -> String = { $0 }, _ body: (CRIClient, String) async throws -> Void
    ) async throws {
        for id in ids {
            try await run(options, .runtime, doing: what(id)) { cri in try await body(cri, id) }
            print(done(id))
        }
    }

    static func debug(_ options: GlobalOptions, _ label: String, _ message: some SwiftProtobuf.Message) {
        guard options.debug else { return }
        printError("\(label): \(message.textFormatString())")
    }

    static func printError(_ text: String) {
        var bytes = Array(("skiffctl: " + text + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// Status code names as Go's grpc prints them, which is what people grep crictl output for.
    static func goName(_ code: RPCError.Code) -> String {
        let names: [(RPCError.Code, String)] = [
            (.cancelled, "Canceled"), (.unknown, "Unknown"), (.invalidArgument, "InvalidArgument"),
            (.deadlineExceeded, "DeadlineExceeded"), (.notFound, "NotFound"), (.alreadyExists, "AlreadyExists"),
            (.permissionDenied, "PermissionDenied"), (.resourceExhausted, "ResourceExhausted"),
            (.failedPrecondition, "FailedPrecondition"), (.aborted, "Aborted"), (.outOfRange, "OutOfRange"),
            (.unimplemented, "Unimplemented"), (.internalError, "Internal"), (.unavailable, "Unavailable"),
            (.dataLoss, "DataLoss"), (.unauthenticated, "Unauthenticated"),
        ]
        return names.first { $0.0 == code }?.1 ?? "Unknown"
    }

    /// `inspect` and `inspectp`: for each id, the status with its defaults and each verbose info
    /// entry (parsed when it is JSON); one document for one id, an array for several.
    static func printStatuses(
        _ options: GlobalOptions, ids: [String], output: OutputFormat, doing what: String, template: JSONValue,
        _ fetch: @escaping @Sendable (CRIClient, String) async throws -> (status: any SwiftProtobuf.Message, info: [String: String])
    ) async throws {
        var documents: [JSONValue] = []
        for id in ids {
            let reply = try await run(options, .runtime, doing: "\(what) \"\(id)\"") { cri in
                let (status, info) = try await fetch(cri, id)
                return (try json(status, template: template), info)
            }
            var members: [String: JSONValue] = ["status": reply.0]
            for (key, value) in reply.1 {
                members[key] = value.hasPrefix("{") ? ((try? JSONValue.parse(value)) ?? .string(value)) : .string(value)
            }
            documents.append(.object(members))
        }
        print(try output.render(documents.count == 1 ? documents[0] : .array(documents)))
    }

    /// A reply as JSON, with the defaults of `template` filled in (see `JSONValue.withDefaults`).
    // Never inlined: JSONValue.parse's typed throws, inlined into an async command's body, crashed
    // Swift 6.3.1's optimizer while it split the coroutine (release builds only).
    @inline(never)
    static func json(
        _ message: some SwiftProtobuf.Message, template: JSONValue = .null, protoNames: Bool = false
    ) throws -> JSONValue {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = protoNames
        return try JSONValue.parse(message.jsonString(options: options)).withDefaults(template)
    }
}

/// Output formats crictl accepts; go-template is refused by name rather than ignored.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case json, yaml, table
    case goTemplate = "go-template"

    func render(_ value: JSONValue) throws -> String {
        switch self {
        case .json: return value.prettyJSON()
        case .yaml: return value.yaml()
        case .table, .goTemplate: throw ValidationError("unsupported format: \"\(rawValue)\"")
        }
    }
}
