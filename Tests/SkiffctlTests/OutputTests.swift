import JSONCoding
import Testing
@testable import skiffctl

@Suite struct OutputTests {
    let document = """
        {"status":{"conditions":[{"type":"RuntimeReady","status":true},{"type":"NetworkReady","reason":"x: y","message":"<a&b>"}]},"num":"12","e":{},"l":[]}
        """

    @Test func jsonIsPrintedWithSortedKeysAndGoEscaping() throws {
        let value = try JSONValue.parse(document)
        #expect(value.prettyJSON() == """
            {
              "e": {},
              "l": [],
              "num": "12",
              "status": {
                "conditions": [
                  {
                    "status": true,
                    "type": "RuntimeReady"
                  },
                  {
                    "message": "\\u003ca\\u0026b\\u003e",
                    "reason": "x: y",
                    "type": "NetworkReady"
                  }
                ]
              }
            }
            """)
    }

    @Test func yamlQuotesOnlyWhatAPlainScalarWouldMisread() throws {
        let value = try JSONValue.parse(document)
        #expect(value.yaml() == """
            e: {}
            l: []
            num: "12"
            status:
              conditions:
              - status: true
                type: RuntimeReady
              - message: <a&b>
                reason: 'x: y'
                type: NetworkReady

            """)
    }

    @Test func defaultsAreFilledOnlyInsideMessagesThatArePresent() throws {
        let reply = try JSONValue.parse(#"{"conditions":[{"type":"RuntimeReady","status":true}]}"#)
        let filled = reply.withDefaults(ReplyTemplates.runtimeStatus)
        #expect(filled == .object(["conditions": .array([.object([
            "type": .string("RuntimeReady"), "status": .bool(true), "reason": .string(""), "message": .string(""),
        ])])]))
        let empty = try JSONValue.parse("{}").withDefaults(ReplyTemplates.imageFsInfo)
        #expect(empty == .object(["imageFilesystems": .array([]), "containerFilesystems": .array([])]))
    }

    @Test func stringsWithEscapesAndSurrogatesParse() throws {
        #expect(try JSONValue.parse(#""a\n\u00e9\ud83d\ude00\"""#) == .string("a\né😀\""))
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("{\"a\":}") }
    }

    @Test func humanSizesMatchDockerUnits() {
        #expect(ImageFsInfoCommand.humanSize(0) == "0B")
        #expect(ImageFsInfoCommand.humanSize(999) == "999B")
        #expect(ImageFsInfoCommand.humanSize(8192) == "8.192kB")
        #expect(ImageFsInfoCommand.humanSize(1_500_000_000) == "1.5GB")
    }
}

@Suite struct ArgumentTests {
    @Test func globalFlagsBeforeTheCommandMoveAfterIt() {
        #expect(Skiffctl.global.movedAfterCommand(["-r", "unix:///s", "--debug", "info", "-o", "yaml"])
            == ["info", "--runtime-endpoint", "unix:///s", "--debug", "-o", "yaml"])
        // Written long: after `exec`, -t and -i are the tty and interactive flags.
        #expect(Skiffctl.global.movedAfterCommand(["-t", "60s", "-i", "unix:///i", "exec", "-it", "c", "sh"])
            == ["exec", "--timeout", "60s", "--image-endpoint", "unix:///i", "-it", "c", "sh"])
        #expect(Skiffctl.global.movedAfterCommand(["--timeout=2s", "version"]) == ["version", "--timeout=2s"])
        #expect(Skiffctl.global.movedAfterCommand(["version", "-r", "x"]) == ["version", "-r", "x"])
        #expect(Skiffctl.global.movedAfterCommand(["-r", "x", "--help"]) == ["-r", "x", "--help"])
    }

    @Test func clientConfigFileReadsCrictlKeys() throws {
        let file = try ClientConfigFile.parse("""
            runtime-endpoint: "unix:///run/skiff/skiff.sock"  # comment
            image-endpoint: unix:///img.sock
            timeout: 5
            debug: true
            pull-image-on-create: false
            """, file: "f")
        #expect(file == ClientConfigFile(runtimeEndpoint: "unix:///run/skiff/skiff.sock", imageEndpoint: "unix:///img.sock",
                                         timeoutSeconds: 5, debug: true))
        #expect(throws: ClientConfigFile.Invalid.self) { try ClientConfigFile.parse("timeout: soon", file: "f") }
    }

    @Test func durationsUseGoSpelling() throws {
        #expect(try GlobalOptions.parseDuration("2s") == .seconds(2))
        #expect(try GlobalOptions.parseDuration("500ms") == .milliseconds(500))
        #expect(try GlobalOptions.parseDuration("1m") == .seconds(60))
        #expect(throws: (any Error).self) { try GlobalOptions.parseDuration("soon") }
    }
}
