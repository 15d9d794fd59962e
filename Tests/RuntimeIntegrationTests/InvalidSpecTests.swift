import Foundation
import OCI
import Testing

/// Bad config.json fields are refused before anything runs, with the field named.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct InvalidSpecTests {
    static let cases: [(String, @Sendable (inout RuntimeSpec) -> Void, String)] = [
        ("namespace", { $0.linux?.namespaces?.append(.init(type: "time")) }, "linux.namespaces[6]: namespace type 'time' is not supported"),
        ("capability", { $0.process?.capabilities?.bounding?.append("CAP_FLY") }, "process.capabilities.bounding: unknown capability 'CAP_FLY'"),
        ("mount", { $0.mounts?.append(.init(destination: "relative", type: "tmpfs", source: "tmpfs")) }, "mounts[7].destination"),
        ("sysctl", { $0.linux?.sysctl = ["vm.overcommit_memory": "1"] }, "not namespaced"),
        ("rlimit", { $0.process?.rlimits = [.init(type: "RLIMIT_BOGUS", hard: 1, soft: 1)] }, "process.rlimits[0].type"),
        ("args", { $0.process?.args = [] }, "process.args: must name a program"),
        ("hostname", { $0.linux?.namespaces?.removeAll { $0.type == "uts" } }, "hostname: needs a new uts namespace"),
        ("executable", { $0.process?.args = ["/no/such/program"] }, "executable lookup (/no/such/program): No such file or directory"),
        // C would see "/bin/sh" and run it.
        ("nul", { $0.process?.args = ["/bin/sh\u{0}x"] }, "process.args[0]: contains a NUL character"),
    ]

    @Test(arguments: cases.indices)
    func invalidFieldsAreNamed(index: Int) throws {
        let (_, mutate, expected) = Self.cases[index]
        let bundle = try Bundle()
        mutate(&bundle.spec)
        let out = try bundle.runContainer(.skiff)
        #expect(out.status != 0)
        #expect(out.stderr.contains(expected), "\(out.stderr)")
        #expect(try bundle.run(.skiff, ["list", "-q"]).stdout.isEmpty, "a failed create leaves nothing behind")
    }

    @Test func malformedJSONIsRefused() throws {
        let bundle = try Bundle()
        try "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": \"root\"}}}".write(toFile: bundle.dir + "/config.json", atomically: true, encoding: .utf8)
        let out = try bundle.run(.skiff, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(out.status != 0)
        #expect(out.stderr.contains("invalid config.json: process.user.uid: wrong type"), "\(out.stderr)")
        // Not JSON at all: where reading stopped, and why.
        try "{\"ociVersion\": \"1.0.2\",}".write(toFile: bundle.dir + "/config.json", atomically: true, encoding: .utf8)
        let syntax = try bundle.run(.skiff, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(syntax.stderr.contains("invalid config.json: config.json: not valid JSON (expected a member name at byte 23)"), "\(syntax.stderr)")
        // A value out of range for its field.
        try "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}, \"process\": {\"cwd\": \"/\", \"user\": {\"uid\": -1, \"gid\": 0}}}"
            .write(toFile: bundle.dir + "/config.json", atomically: true, encoding: .utf8)
        let range = try bundle.run(.skiff, ["run", "--bundle", bundle.dir, bundle.id])
        #expect(range.stderr.contains("invalid config.json: process.user.uid: -1 does not fit in UInt32"), "\(range.stderr)")
    }
}
