import Testing
@testable import SkiffConfig

@Suite struct TOMLParserTests {
    @Test func parsesTablesDottedKeysAndValueTypes() throws {
        let table = try TOMLParser.parse("""
            # comment
            name = "a \\"quoted\\" \\u00e9"   # trailing comment
            literal = 'C:\\path'
            count = 0x1F
            big = 1_000
            negative = -3
            on = true
            list = [
              "x",   # one
              "y",
            ]
            [grpc]
            socket = "/s"
            nested.key = false
            [a."b.c"]
            inline = { k = 1, j = "v" }
            """)
        #expect(table["name"]?.value == .string("a \"quoted\" é"))
        #expect(table["literal"]?.value == .string("C:\\path"))
        #expect(table["count"]?.value == .integer(31))
        #expect(table["big"]?.value == .integer(1000))
        #expect(table["negative"]?.value == .integer(-3))
        #expect(table["on"]?.value == .bool(true))
        #expect(table["list"]?.value == .array([.string("x"), .string("y")]))
        #expect(table["list"]?.line == 8)
        guard case .table(let grpc) = table["grpc"]?.value else { Issue.record("no grpc table"); return }
        #expect(grpc["socket"]?.value == .string("/s"))
        #expect(grpc["socket"]?.line == 13)
        guard case .table(let nested) = grpc["nested"]?.value else { Issue.record("no dotted table"); return }
        #expect(nested["key"]?.value == .bool(false))
        guard case .table(let a) = table["a"]?.value, case .table(let bc) = a["b.c"]?.value,
            case .table(let inline) = bc["inline"]?.value
        else { Issue.record("no quoted table"); return }
        #expect(inline["k"]?.value == .integer(1))
        #expect(inline["j"]?.value == .string("v"))
        #expect(table.keys == ["name", "literal", "count", "big", "negative", "on", "list", "grpc", "a"])
    }

    @Test(arguments: [
        ("a = \"open", 1, "unterminated string"),
        ("a = 1\na = 2", 2, "key 'a' is defined twice"),
        ("x = 1\ny = 1.5", 2, "'1.5' is not a supported value (strings, integers, booleans, arrays, tables)"),
        ("[[servers]]", 1, "arrays of tables ([[...]]) are not supported"),
        ("a = 1 b = 2", 1, "expected the end of the line"),
        ("\n\n= 3", 3, "expected a key"),
        ("s = \"\\q\"", 1, "invalid escape '\\q'"),
        ("a = 1\n[a]", 2, "'a' is already a value"),
    ])
    func reportsSyntaxErrorsWithTheirLine(text: String, line: Int, message: String) {
        #expect(throws: TOMLParser.SyntaxError(line: line, message: message)) { try TOMLParser.parse(text) }
    }
}
