/// Prints a configuration as a TOML file that `ConfigLoader` reads back to the same value.
public enum ConfigRenderer {
    /// The full file with every key and its comment.
    public static func render(_ config: SkiffConfiguration, header: String) -> String {
        var out = header.split(separator: "\n", omittingEmptySubsequences: false).map { "# " + $0 }
        out.append("")
        var section = ""
        for key in ConfigSchema.keys {
            if key.section != section {
                section = key.section
                out += ["", "[\(section)]"]
            }
            out.append("# " + key.doc)
            out.append("\(key.name) = \(key.render(config))")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
