/// crictl and runc take global flags before the command (`runc --root X state id`); argument-parser
/// only reads a subcommand's options after its name. This moves the leading global flags there.
public struct GlobalArguments: Sendable {
    /// Options that take a value, in every spelling accepted.
    public let withValue: Set<String>
    /// Options without a value.
    public let flags: Set<String>
    /// Short spellings written long once moved: a command may give the same letter another meaning
    /// (crictl's `-t` is the timeout before the command, and a tty after `exec`).
    public let longForms: [String: String]

    public init(withValue: Set<String>, flags: Set<String>, longForms: [String: String] = [:]) {
        self.withValue = withValue
        self.flags = flags
        self.longForms = longForms
    }

    /// `[global flags] command [args]` → `command [global flags] [args]`.
    public func movedAfterCommand(_ args: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < args.count {
            let arg = args[index]
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            if flags.contains(arg) || (arg.hasPrefix("--") && arg.contains("=") && (withValue.contains(name) || flags.contains(name))) {
                leading.append(longForms[arg] ?? arg)
                index += 1
            } else if withValue.contains(arg), index + 1 < args.count {
                leading += [longForms[arg] ?? arg, args[index + 1]]
                index += 2
            } else {
                break
            }
        }
        // Nothing to move, or no command follows (help and version requests stay as they are).
        guard !leading.isEmpty, index < args.count, !args[index].hasPrefix("-") else { return args }
        return [args[index]] + leading + args[(index + 1)...]
    }
}
