import GRPCCore
import LinuxKit
import PodManager
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
