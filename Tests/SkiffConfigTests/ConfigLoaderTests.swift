import Foundation
import Testing
@testable import SkiffConfig

@Suite struct ConfigLoaderTests {
    /// A scratch directory holding config.toml and config.d/.
    final class Scratch {
        let dir: String
        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-config-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir + "/config.d", withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
        var main: String { dir + "/config.toml" }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    @Test func everyKeyHasADefaultSoNoFileIsNeeded() throws {
        let scratch = try Scratch()
        let config = try ConfigLoader.load(path: scratch.main)
        #expect(config == SkiffConfiguration())
        #expect(config.socketPath == "/run/skiff/skiff.sock")
        #expect(config.root == "/var/lib/skiff")
    }

    @Test func anExplicitFileMustExist() throws {
        let scratch = try Scratch()
        #expect(throws: ConfigError.unreadable(file: scratch.main, reason: "No such file or directory")) {
            try ConfigLoader.load(path: scratch.main, mustExist: true)
        }
    }

    @Test func dropInsApplyInLexicalOrderAfterTheMainFile() throws {
        let scratch = try Scratch()
        try scratch.write("config.toml", "root = \"/main\"\nlog_level = \"debug\"\n[grpc]\nsocket = \"/main.sock\"\n")
        try scratch.write("config.d/20-b.toml", "root = \"/b\"\n")
        try scratch.write("config.d/10-a.toml", "root = \"/a\"\n[cni]\nbin_dirs = [\"/x\"]\n")
        try scratch.write("config.d/30-ignored.conf", "root = \"/not-toml\"\n")
        let config = try ConfigLoader.load(path: scratch.main)
        #expect(config.root == "/b")
        #expect(config.logLevel == "debug")
        #expect(config.socketPath == "/main.sock")
        #expect(config.cni.binDirs == ["/x"])
    }

    @Test func unknownKeysAreRejectedWithFileLineAndKey() throws {
        let scratch = try Scratch()
        try scratch.write("config.toml", "root = \"/r\"\n\n[grpc]\nsockt = \"/x\"\n")
        #expect(throws: ConfigError.unknownKey(file: scratch.main, line: 4, key: "grpc.sockt")) {
            try ConfigLoader.load(path: scratch.main)
        }
        #expect(ConfigError.unknownKey(file: "/f", line: 4, key: "grpc.sockt").description == "/f:4: unknown key 'grpc.sockt'")
    }

    @Test func unknownSectionsAreRejected() throws {
        let scratch = try Scratch()
        try scratch.write("config.d/x.toml", "[plugins]\nfoo = 1\n")
        #expect(throws: ConfigError.unknownKey(file: scratch.dir + "/config.d/x.toml", line: 1, key: "plugins")) {
            try ConfigLoader.load(path: scratch.main)
        }
    }

    @Test(arguments: [
        ("root = \"relative\"", "root", "expected an absolute path, found 'relative'"),
        ("log_level = \"loud\"", "log_level", "'loud' is not one of trace, debug, info, notice, warning, error, critical"),
        ("[grpc]\nmax_message_size = 12", "grpc.max_message_size", "12 is out of range 4096...1073741824"),
        ("[grpc]\ngid = \"wheel\"", "grpc.gid", "expected an integer, found string"),
        ("[cni]\nbin_dirs = \"/one\"", "cni.bin_dirs", "expected an array, found string"),
        ("[runtime]\ncgroup_driver = \"docker\"", "runtime.cgroup_driver", "'docker' is not one of , cgroupfs, systemd"),
        ("[runtime]\nhandlers = { Skiff = \"/usr/bin/x\" }", "runtime.handlers", "'Skiff' is not a handler name (lowercase letters, digits and '-', not 'skiff')"),
        ("[runtime]\nhandlers = { skiff = \"/usr/bin/x\" }", "runtime.handlers", "'skiff' is not a handler name (lowercase letters, digits and '-', not 'skiff')"),
        ("[runtime]\nhandlers = { runc = \"runc\" }", "runtime.handlers", "expected an absolute path, found 'runc'"),
        ("[runtime]\nhandlers = [\"runc\"]", "runtime.handlers", "expected a table of name = path, found array"),
        ("[runtime]\ntolerate_missing_controllers = [\"cpu\", \"gpu\"]", "runtime.tolerate_missing_controllers", "'gpu' is not one of cpu, cpuset, memory, pids, io, hugetlb"),
        ("version = 2", "version", "2 is out of range 1...1"),
        ("[images]\nparallel_layers = 0", "images.parallel_layers", "0 is out of range 1...16"),
        ("[images]\nauth_file = \"config.json\"", "images.auth_file", "expected an absolute path, found 'config.json'"),
        ("grpc = 3", "grpc", "expected a table"),
    ])
    func badValuesAreRejectedWithTheKey(text: String, key: String, message: String) throws {
        let scratch = try Scratch()
        try scratch.write("config.toml", text + "\n")
        let line = text.split(separator: "\n").count
        #expect(throws: ConfigError.badValue(file: scratch.main, line: line, key: key, message: message)) {
            try ConfigLoader.load(path: scratch.main)
        }
    }

    @Test func syntaxErrorsNameTheFileAndLine() throws {
        let scratch = try Scratch()
        try scratch.write("config.toml", "root = \"/r\"\nstate = \n")
        #expect(throws: ConfigError.syntax(file: scratch.main, line: 2, message: "expected a value")) {
            try ConfigLoader.load(path: scratch.main)
        }
    }

    @Test func theRenderedFileReadsBackToTheSameConfiguration() throws {
        var config = SkiffConfiguration()
        config.root = "/srv/skiff \"quoted\""
        config.grpc.gid = 42
        config.cni.binDirs = []
        config.logLevel = "trace"
        config.images.authFile = "/etc/skiff/auth.json"
        config.images.parallelLayers = 5
        config.runtime.cgroupDriver = "systemd"
        config.runtime.handlers = ["runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"]
        var reread = SkiffConfiguration()
        try ConfigLoader.apply(text: ConfigRenderer.render(config, header: "test"), file: "rendered", to: &reread)
        #expect(reread == config)

        var defaults = SkiffConfiguration()
        try ConfigLoader.apply(text: ConfigRenderer.render(SkiffConfiguration(), header: "x"), file: "d", to: &defaults)
        #expect(defaults == SkiffConfiguration())
    }

    @Test func theDefaultFileDocumentsEveryKey() {
        let text = ConfigRenderer.render(SkiffConfiguration(), header: "h")
        for key in ConfigSchema.keys {
            #expect(text.contains("\n\(key.name) = "), "missing \(key.path)")
        }
        #expect(text.contains("[grpc]") && text.contains("[cni]") && text.contains("[runtime]") && text.contains("[images]"))
    }
}
