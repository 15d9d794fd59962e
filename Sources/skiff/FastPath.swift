import ArgumentParser

/// The verbs a container manager calls for every container (`create`, `start`, `state`, `kill`,
/// `delete`, and `run`), parsed by hand. argument-parser builds its command tree through reflection and
/// dynamic casts, about 2 ms of every `skiff` process in a binary this size (docs/BENCHMARKS.md);
/// create + start pays it twice. Only the plain spellings are taken here: anything else (another
/// flag, `--help`, a missing id) returns nil and the full parser handles and explains it, so the
/// two cannot disagree on what a command means, only on how fast it is read.
enum FastPath {
    /// The exit status, or nil when the full parser must run.
    static func run(_ arguments: [String]) -> Int32? {
        guard let parsed = parse(arguments) else { return nil }
        guard [nil, "text", "json"].contains(parsed.value("--log-format")) else { return nil }
        let context = RuntimeContext(root: parsed.value("--root") ?? "/run/skiff/runtime",
                                     log: Log(path: parsed.value("--log"), json: parsed.value("--log-format") == "json"),
                                     systemdCgroup: parsed.flags.contains("--systemd-cgroup"))
        do {
            switch (parsed.verb, parsed.positionals.count) {
            case ("create", 1):
                try Create.execute(context, id: parsed.positionals[0], bundle: parsed.value("--bundle") ?? ".",
                                   pidFile: parsed.value("--pid-file"), consoleSocket: parsed.value("--console-socket"))
            case ("run", 1):
                try Run.execute(context, id: parsed.positionals[0], bundle: parsed.value("--bundle") ?? ".",
                                pidFile: parsed.value("--pid-file"), detach: parsed.flags.contains("--detach"),
                                consoleSocket: parsed.value("--console-socket"))
            case ("start", 1): try Start.execute(context, id: parsed.positionals[0])
            case ("state", 1): try State.execute(context, id: parsed.positionals[0])
            case ("delete", 1): try Delete.execute(context, id: parsed.positionals[0], force: parsed.flags.contains("--force"))
            case ("kill", 1), ("kill", 2):
                try Kill.execute(context, id: parsed.positionals[0], signal: parsed.positionals.count == 2 ? parsed.positionals[1] : "SIGTERM",
                                 all: parsed.flags.contains("--all"))
            default: return nil
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            return context.failure("\(error)").rawValue
        }
    }

    struct Parsed {
        var verb = ""
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var positionals: [String] = []

        func value(_ name: String) -> String? { values[name] }
    }

    static let globalValues: Set<String> = ["--root", "--log", "--log-format"]
    /// containerd passes --systemd-cgroup on every call when its pods' parents are systemd slices.
    static let globalFlags: Set<String> = ["--systemd-cgroup", "--debug"]
    /// `run` is `create` then `start`: it takes create's options.
    static let createValues: Set<String> = ["--bundle", "--pid-file", "--console-socket"]
    static let verbValues: [String: Set<String>] = [
        "create": createValues, "run": createValues, "start": [], "state": [], "delete": [], "kill": [],
    ]
    static let verbFlags: [String: Set<String>] = ["delete": ["--force"], "kill": ["--all"], "run": ["--detach"]]
    static let shortNames = ["-b": "--bundle", "-f": "--force", "-a": "--all", "-d": "--detach"]

    static func parse(_ arguments: [String]) -> Parsed? {
        var parsed = Parsed()
        var index = 0
        while index < arguments.count {
            var arg = arguments[index]
            index += 1
            guard arg.hasPrefix("-") else {
                if parsed.verb.isEmpty {
                    guard verbValues[arg] != nil else { return nil }
                    parsed.verb = arg
                } else {
                    parsed.positionals.append(arg)
                }
                continue
            }
            arg = shortNames[arg] ?? arg
            var value: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                value = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            let takesValue = globalValues.contains(arg) || (verbValues[parsed.verb]?.contains(arg) ?? false)
            if takesValue {
                if value == nil {
                    // argument-parser takes no dash-word as a value (`--pid-file -d` is an error there).
                    guard index < arguments.count, !arguments[index].hasPrefix("-") || arguments[index] == "-" else { return nil }
                    value = arguments[index]
                    index += 1
                }
                guard parsed.values[arg] == nil else { return nil }
                parsed.values[arg] = value
            } else if value == nil, globalFlags.contains(arg) || verbFlags[parsed.verb]?.contains(arg) == true {
                parsed.flags.insert(arg)
            } else {
                return nil
            }
        }
        return parsed.verb.isEmpty ? nil : parsed
    }
}
