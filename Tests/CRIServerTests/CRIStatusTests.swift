import Cgroups
import GRPCCore
import ImageStore
import LinuxKit
import PodManager
import PodNetwork
import RuntimeEngine
import Testing
@testable import CRIServer

@Suite struct CRIStatusTests {
    @Test func invalidArgumentsBecomeInvalidArgument() {
        let error = CRIStatus.rpcError(for: PodManagerError.invalidArgument(field: "pod_cidr", reason: "bad"))
        #expect(error.code == .invalidArgument)
        #expect(error.message == "invalid pod_cidr: bad")
    }

    @Test func systemErrorsBecomeInternalWithTheirContext() {
        let error = CRIStatus.rpcError(for: SystemError("lstat", path: "/x", errno: 13))
        #expect(error.code == .internalError)
        #expect(error.message == "lstat /x: Permission denied")
    }

    @Test(arguments: [
        (RuntimeEngine.RuntimeError.invalidSpec(field: "process.args", reason: "required"), RPCError.Code.invalidArgument),
        (.invalidID("a/b"), .invalidArgument),
        (.notFound(id: "c1"), .notFound),
        (.alreadyExists(id: "c1"), .alreadyExists),
        (.wrongState(id: "c1", status: "running", operation: "start"), .failedPrecondition),
        (.cgroup("the memory controller is not available"), .failedPrecondition),
        (.spawn(step: "pivot_root", detail: "", errno: 22), .internalError),
        (.system(SystemError("open", path: "/x", errno: 2)), .internalError),
        (.hook("prestart exited with 1"), .internalError),
    ] as [(RuntimeEngine.RuntimeError, RPCError.Code)])
    func runtimeErrorsHaveTheirCode(error: RuntimeEngine.RuntimeError, code: RPCError.Code) {
        #expect(CRIStatus.rpcError(for: error) == RPCError(code: code, message: error.description))
    }

    @Test(arguments: [
        (PodNetworkError.invalidArgument(field: "K8S_POD_NAME", reason: "has ';'"), RPCError.Code.invalidArgument),
        (.notReady("no network config found"), .failedPrecondition),
        (.badConfig(file: "10.conf", reason: "no name"), .failedPrecondition),
        (.plugin(type: "bridge", command: "ADD", code: 11, message: "range full"), .internalError),
        (.system("cannot write the cache"), .internalError),
    ] as [(PodNetworkError, RPCError.Code)])
    func networkErrorsHaveTheirCode(error: PodNetworkError, code: RPCError.Code) {
        #expect(CRIStatus.rpcError(for: error) == RPCError(code: code, message: error.description))
    }

    @Test(arguments: [
        (PodManagerError.runtimeFailed(operation: "create", message: "no such bundle"), RPCError.Code.internalError),
        (.system(SystemError("pipe2", errno: 24)), .internalError),
    ] as [(PodManagerError, RPCError.Code)])
    func podManagerErrorsHaveTheirCode(error: PodManagerError, code: RPCError.Code) {
        #expect(CRIStatus.rpcError(for: error) == RPCError(code: code, message: error.description))
    }

    /// A missing controller or hierarchy is the node's precondition, as `RuntimeError.cgroup` is.
    @Test func cgroupErrorsAreFailedPrecondition() {
        let error = CgroupError("no cgroup v2 hierarchy is mounted; skiff needs cgroup v2")
        #expect(CRIStatus.rpcError(for: error) == RPCError(code: .failedPrecondition, message: error.message))
    }

    @Test func errorsOfLibrariesAreInternalWithTheirDescription() {
        struct Unknown: Error, CustomStringConvertible { var description: String { "connection reset" } }
        #expect(CRIStatus.rpcError(for: Unknown()) == RPCError(code: .internalError, message: "connection reset"))
    }

    @Test func rpcErrorsPassThroughUnchanged() {
        let original = RPCError(code: .notFound, message: "no such pod")
        #expect(CRIStatus.rpcError(for: original) == original)
    }

    @Test func cancellationIsCancelledNotUnknown() {
        #expect(CRIStatus.rpcError(for: CancellationError()).code == .cancelled)
    }

    @Test func unimplementedNamesTheRPC() {
        let error = CRIStatus.unimplemented("RunPodSandbox")
        #expect(error.code == .unimplemented)
        #expect(error.message.hasPrefix("RunPodSandbox is not implemented"))
    }

    /// 70 KB of the caller's input once came back whole in the status message.
    @Test func messagesQuotingHugeInputAreBounded() {
        let input = String(repeating: "é", count: 35_000)
        let error = CRIStatus.rpcError(for: PodManagerError.invalidArgument(field: "pod_cidr", reason: "'\(input)' is not a CIDR"))
        #expect(error.message.utf8.count <= CRIStatus.messageLimit)
        #expect(error.message.hasPrefix("invalid pod_cidr: 'éé"))
        #expect(error.message.hasSuffix("éé' is not a CIDR"))
        #expect(error.message.contains("bytes left out"))
        let short = CRIStatus.rpcError(for: PodManagerError.invalidArgument(field: "pod_cidr", reason: "bad"))
        #expect(short.message == "invalid pod_cidr: bad")
    }
}

/// Every ImageStore failure keeps the code the kubelet has always seen for it.
@Suite struct ImageErrorStatusTests {
    static let digest = "sha256:" + String(repeating: "a", count: 64)

    @Test(arguments: [
        (ImageError.invalidReference("A", reason: "x"), RPCError.Code.invalidArgument),
        (.badImage("x"), .failedPrecondition),
        (.inUse("busybox", containers: ["c1"]), .failedPrecondition),
        (.store("x"), .internalError),
        (.registry(.unauthorized("x")), .unauthenticated),
        (.registry(.notFound("x")), .notFound),
        (.registry(.noMatchingPlatform("r", platform: "linux/s390x", available: ["linux/amd64"])), .notFound),
        (.registry(.schema1("r")), .failedPrecondition),
        (.registry(.unsupportedMediaType("x")), .failedPrecondition),
        (.registry(.configuration("x")), .failedPrecondition),
        (.registry(.badCredentials("x")), .invalidArgument),
        (.registry(.digestMismatch(what: "manifest", expected: digest, actual: digest)), .dataLoss),
        (.registry(.badResponse("x")), .unavailable),
        (.registry(.transport("x")), .unavailable),
        (.content(.invalidDigest("x")), .invalidArgument),
        (.content(.notFound(digest)), .notFound),
        (.content(.digestMismatch(expected: digest, actual: digest)), .dataLoss),
        (.content(.sizeMismatch(digest, expected: 1, actual: 2)), .dataLoss),
        (.content(.aborted(digest)), .internalError),
        (.content(.system(SystemError("write", path: "/x", errno: 28))), .internalError),
        (.unpack(.invalidDigest("x")), .internalError),
        (.unpack(.layer(digest, "x")), .internalError),
        (.unpack(.diffIDMismatch(expected: digest, actual: digest)), .dataLoss),
        (.unpack(.system("x")), .internalError),
    ] as [(ImageError, RPCError.Code)])
    func eachCaseHasItsCode(error: ImageError, code: RPCError.Code) {
        #expect(CRIStatus.rpcError(for: error) == RPCError(code: code, message: error.description))
    }

    /// The texts operators and scripts have seen, one per kind.
    @Test func messagesAreUnchanged() {
        #expect(ImageError.invalidReference("A", reason: "x").description == "invalid image reference \"A\": x")
        #expect(ImageError.inUse("busybox", containers: ["c1", "c2"]).description == "image busybox is in use by container c1, c2")
        #expect(ImageError.registry(.notFound("x")).description == "not found: x")
        #expect(ImageError.content(.notFound("d")).description == "blob d is not in the content store")
        #expect(ImageError.content(.sizeMismatch("d", expected: 1, actual: 2)).description == "blob d has 2 bytes, expected 1")
        #expect(ImageError.unpack(.layer("d", "bad tar")).description == "layer d: bad tar")
        #expect(ImageError.unpack(.system("mkdir x: y")).description == "mkdir x: y")
    }
}
