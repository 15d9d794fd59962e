import Foundation
import OCI
import Testing

/// linux.seccomp compiled to BPF and loaded in the container, under skiff and runc.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct SeccompTests {
    static let profile = """
        {"defaultAction": "SCMP_ACT_ALLOW",
         "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
         "syscalls": [
           {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
           {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
            "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
           {"names": ["no_such_syscall_skiff"], "action": "SCMP_ACT_ERRNO"}
         ]}
        """

    @Test(arguments: RuntimeUnderTest.all, [true, false])
    func deniedSyscallsFailWithTheProfilesErrno(runtime: RuntimeUnderTest, noNewPrivileges: Bool) throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "mkdir /tmp/x 2>&1; /probe | grep -E '^(Seccomp|NoNewPrivs|uid) '"])
        bundle.spec.linux?.seccomp = try JSONDecoder().decode(RuntimeSpec.Seccomp.self, from: Data(Self.profile.utf8))
        bundle.spec.process?.noNewPrivileges = noNewPrivileges
        bundle.spec.process?.user = RuntimeSpec.User(uid: 1000, gid: 1000)
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("Function not implemented"), "mkdir must fail with ENOSYS (38): \(out.stdout)")
        #expect(out.value("Seccomp") == "2")
        #expect(out.value("NoNewPrivs") == (noNewPrivileges ? "1" : "0"))
        #expect(out.value("uid") == "1000")
    }

    @Test func aBadProfileIsRefusedNamingTheField() throws {
        let bundle = try Bundle()
        bundle.spec.linux?.seccomp = try JSONDecoder().decode(RuntimeSpec.Seccomp.self, from: Data("""
            {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}
            """.utf8))
        let out = try bundle.runContainer(.skiff)
        #expect(out.status != 0)
        #expect(out.stderr.contains("linux.seccomp.syscalls[0].action: action 'SCMP_ACT_EXPLODE' is not supported"), "\(out.stderr)")
    }
}
