import Cgroups
import GRPCCore
import ImageStore
import LinuxKit
import Logging
import PodManager
import PodNetwork
import RuntimeEngine
import SkiffConfig
import StreamServer

/// The one place where errors of Skiff's modules become gRPC statuses. The kubelet branches on
/// these codes (it retries UNAVAILABLE, gives up on INVALID_ARGUMENT, probes for UNIMPLEMENTED),
/// so nothing reaches the wire as UNKNOWN.
public enum CRIStatus {
    /// The answer for an RPC Skiff does not serve yet.
    public static func unimplemented(_ rpc: String) -> RPCError {
        RPCError(code: .unimplemented, message: "\(rpc) is not implemented by skiff \(SkiffVersion.current)")
    }

    /// Maps any error thrown below the adapters, its message bounded (`bounded(_:)`).
    public static func rpcError(for error: any Error) -> RPCError {
        let mapped = unboundedRPCError(for: error)
        guard mapped.message.utf8.count > messageLimit else { return mapped }
        return RPCError(code: mapped.code, message: bounded(mapped.message))
    }

    /// Longest status message, in bytes. Messages quote the caller's input ("'…' is not a CIDR"),
    /// which can be megabytes; common gRPC clients refuse status messages much over a few KiB.
    public static let messageLimit = 512

    /// `message` within `messageLimit` bytes: its start and end (where the reason usually is) kept,
    /// the middle replaced by a note of how much was left out.
    static func bounded(_ message: String) -> String {
        let utf8 = Array(message.utf8)
        guard utf8.count > messageLimit else { return message }
        let head = 300, tail = 150
        // Cut on character boundaries: no continuation byte (10xxxxxx) starts or ends a part.
        var start = head
        while start > 0 && utf8[start] & 0xC0 == 0x80 { start -= 1 }
        var end = utf8.count - tail
        while end < utf8.count && utf8[end] & 0xC0 == 0x80 { end += 1 }
        return String(decoding: utf8[..<start], as: UTF8.self) + "…[\(end - start) of \(utf8.count) bytes left out]…"
            + String(decoding: utf8[end...], as: UTF8.self)
    }

    /// One case per module error type, each mapped by an exhaustive switch, so a new case must be
    /// given its code. `ConfigError` is absent: configuration is read before the server starts.
    private static func unboundedRPCError(for error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as PodManagerError:
            return RPCError(code: code(for: error), message: error.description)
        case let error as ImageError:
            return RPCError(code: code(for: error), message: error.description)
        case let error as PodNetworkError:
            return RPCError(code: code(for: error), message: error.description)
        case let error as RuntimeEngine.RuntimeError:
            return RPCError(code: code(for: error), message: error.description)
        case let error as CgroupError:
            // What RuntimeError.cgroup carries when it comes through the runtime.
            return RPCError(code: .failedPrecondition, message: error.description)
        case let error as SystemError:
            return RPCError(code: .internalError, message: error.description)
        case let error as StreamServer.Failure:
            switch error {
            case .tooManyRequests: return RPCError(code: .resourceExhausted, message: error.description)
            case .notStarted, .unavailable: return RPCError(code: .unavailable, message: error.description)
            case .configuration: return RPCError(code: .failedPrecondition, message: error.description)
            }
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            // Errors of libraries (NIO, async-http-client, Foundation): nothing the caller can fix.
            return RPCError(code: .internalError, message: String(describing: error))
        }
    }

    static func code(for error: PodManagerError) -> RPCError.Code {
        switch error {
        case .invalidArgument: .invalidArgument
        // Input is validated before it reaches the runtime: what fails there is the node's problem.
        case .runtimeFailed, .system: .internalError
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .wrongState: .failedPrecondition
        case .timeout: .deadlineExceeded
        }
    }

    /// (Qualified because GRPCCore has a `RuntimeError` of its own.)
    static func code(for error: RuntimeEngine.RuntimeError) -> RPCError.Code {
        switch error {
        case .invalidSpec, .invalidID: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .wrongState: .failedPrecondition
        // A controller the spec needs is missing: the node has to change, not the request.
        case .cgroup: .failedPrecondition
        case .spawn, .system, .hook: .internalError
        }
    }

    static func code(for error: PodNetworkError) -> RPCError.Code {
        switch error {
        case .invalidArgument: .invalidArgument
        // The node's network is not set up (yet): the kubelet waits for NetworkReady and retries.
        case .notReady, .badConfig: .failedPrecondition
        case .plugin, .system: .internalError
        }
    }

    static func code(for error: ImageError) -> RPCError.Code {
        switch error {
        case .invalidReference: .invalidArgument
        case .badImage, .inUse: .failedPrecondition
        case .store: .internalError
        case .registry(let reason): code(for: reason)
        case .content(let reason): code(for: reason)
        case .unpack(let reason): code(for: reason)
        }
    }

    static func code(for reason: ImageError.RegistryReason) -> RPCError.Code {
        switch reason {
        case .unauthorized: .unauthenticated
        case .notFound, .noMatchingPlatform: .notFound
        case .schema1, .unsupportedMediaType, .configuration: .failedPrecondition
        case .badCredentials: .invalidArgument
        case .digestMismatch: .dataLoss
        case .badResponse, .transport: .unavailable
        }
    }

    static func code(for reason: ImageError.ContentReason) -> RPCError.Code {
        switch reason {
        case .digestMismatch, .sizeMismatch: .dataLoss
        case .invalidDigest: .invalidArgument
        case .notFound: .notFound
        case .aborted, .system: .internalError
        }
    }

    static func code(for reason: ImageError.UnpackReason) -> RPCError.Code {
        switch reason {
        case .diffIDMismatch: .dataLoss
        case .invalidDigest, .layer, .system: .internalError
        }
    }

    /// Runs one RPC body, logging and mapping its failure. grpc-swift-2 signals a call's end (its
    /// deadline passed, its client reset the stream) through the RPC's cancellation handle, not by
    /// cancelling the handler's task: the body runs in a task of its own that is cancelled then, so
    /// work nobody waits for (a pull from a silent registry) stops with its caller.
    static func serving<T: Sendable>(
        _ rpc: String, logger: Logger, _ body: @escaping @Sendable () async throws -> T
    ) async throws(RPCError) -> T {
        do {
            let task = Task { try await body() }
            return try await withRPCCancellationHandler {
                try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            } onCancelRPC: {
                task.cancel()
            }
        } catch {
            let mapped = rpcError(for: error)
            logger.log(level: mapped.code == .internalError ? .error : .info, "\(rpc) failed",
                       metadata: ["code": "\(mapped.code)", "error": "\(mapped.message)"])
            throw mapped
        }
    }
}
