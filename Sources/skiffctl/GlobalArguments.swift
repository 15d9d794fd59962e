/// Reorders `skiffctl [global flags] command [args]` into `skiffctl command [global flags] [args]`.
enum GlobalArguments {
    /// Global options that take a value, in every spelling crictl accepts.
    static let withValue: Set<String> = [
        "-r", "--runtime-endpoint", "-i", "--image-endpoint", "-t", "--timeout", "-c", "--config",
    ]
    static let flags: Set<String> = ["-D", "--debug"]

    static func movedAfterCommand(_ args: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < args.count {
            let arg = args[index]
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            if flags.contains(arg) || (arg.hasPrefix("--") && withValue.contains(name) && arg.contains("=")) {
                leading.append(arg)
                index += 1
            } else if withValue.contains(arg), index + 1 < args.count {
                leading += [arg, args[index + 1]]
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
