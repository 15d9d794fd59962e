import JSONCoding

/// crictl round-trips every reply through Go's `map[string]any`, so its output has sorted keys and
/// Go's escaping; skiffctl parses the protobuf JSON with `JSONCoding` and prints it the same way,
/// so scripts written for crictl keep working. (`JSONEncoding`'s writer escapes only what JSON
/// requires, and `\b`/`\f` by name.)
extension JSONValue {
    /// Indented JSON as Go's `json.Indent` prints a marshalled map: sorted keys, two spaces.
    func prettyJSON(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            let lines = members.keys.sorted().map { inner + Self.quoted($0) + ": " + members[$0]!.prettyJSON(indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + $0.prettyJSON(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .string(let s): return Self.quoted(s)
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    /// A JSON string literal with Go's escaping (`<`, `>` and `&` as \u escapes).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// YAML in the block style crictl prints (`sigs.k8s.io/yaml`): sorted keys, list items at the
    /// key's indentation, strings quoted only where a plain scalar would read differently.
    func yaml() -> String {
        var lines: [String] = []
        emitYAML(into: &lines, indent: "")
        return lines.joined(separator: "\n") + "\n"
    }

    private func emitYAML(into lines: inout [String], indent: String) {
        switch self {
        case .object(let members):
            for key in members.keys.sorted() {
                let value = members[key]!
                let label = indent + Self.yamlScalar(key) + ":"
                switch value {
                case .object(let m) where !m.isEmpty:
                    lines.append(label)
                    value.emitYAML(into: &lines, indent: indent + "  ")
                case .array(let a) where !a.isEmpty:
                    lines.append(label)
                    value.emitYAML(into: &lines, indent: indent)
                default:
                    lines.append(label + " " + value.inlineYAML)
                }
            }
        case .array(let items):
            for item in items {
                var nested: [String] = []
                switch item {
                case .object(let m) where !m.isEmpty: item.emitYAML(into: &nested, indent: indent + "  ")
                case .array(let a) where !a.isEmpty: item.emitYAML(into: &nested, indent: indent + "  ")
                default: nested = [indent + "  " + item.inlineYAML]
                }
                // The first line of an item takes the "- " marker in place of its indentation.
                nested[0] = indent + "- " + nested[0].dropFirst(indent.count + 2)
                lines += nested
            }
        default:
            lines.append(indent + inlineYAML)
        }
    }

    private var inlineYAML: String {
        switch self {
        case .object: return "{}"
        case .array: return "[]"
        case .string(let s): return Self.yamlScalar(s)
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    private static let reservedWords: Set<String> = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
        "True", "False", "Yes", "No", "On", "Off", "Y", "N", "Null", "NULL", "TRUE", "FALSE", "YES", "NO", "ON", "OFF",
    ]

    static func yamlScalar(_ s: String) -> String {
        if s.isEmpty || reservedWords.contains(s) || Double(s) != nil || s.contains("\n") || s.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return quoted(s)
        }
        let first = s.unicodeScalars.first!
        let indicators: Set<Unicode.Scalar> = ["-", "?", ":", ",", "[", "]", "{", "}", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", " "]
        if indicators.contains(first) || s.hasSuffix(" ") || s.contains(": ") || s.contains(" #") || s.hasSuffix(":") {
            return "'" + s.replacingAll("'", with: "''") + "'"
        }
        return s
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
