import Foundation
import JSONCoding
import OCI
import Testing

/// The runtime's JSON coder against Foundation's, on the documents the runtime reads, and on the
/// hostile ones it must refuse.
@Suite struct JSONCodingTests {
    /// A config.json that touches every kind of field: nested objects, arrays of objects, maps,
    /// optionals, 64-bit and negative numbers, escapes and non-ASCII text.
    static let config = """
    {"ociVersion":"1.0.2","hostname":"h\\u00e9\\/x\\ud83d\\ude00","root":{"path":"rootfs","readonly":true},
     "process":{"terminal":false,"user":{"uid":0,"gid":4294967295,"additionalGids":[1,2]},
       "args":["sh","-c","echo \\"hi\\"\\n"],"env":["A=1"],"cwd":"/",
       "rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":1024}],
       "oomScoreAdj":-999},
     "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
     "annotations":{"a":"b","é":"ü"},
     "linux":{"sysctl":{"net.ipv4.ip_forward":"1"},"resources":{"memory":{"limit":-1}},
       "namespaces":[{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"}]}}
    """

    @Test func decodesLikeFoundation() throws {
        let bytes = Array(Self.config.utf8)
        let ours = try JSONDecoding.decode(RuntimeSpec.self, from: bytes)
        let foundation = try JSONDecoder().decode(RuntimeSpec.self, from: Data(bytes))
        #expect(ours == foundation)
        #expect(ours.hostname == "hé/x😀")
        #expect(ours.process?.rlimits?.first?.hard == UInt64.max)
        #expect(ours.process?.user.gid == UInt32.max)
        #expect(ours.process?.oomScoreAdj == -999)
    }

    @Test func roundTripsTheDefaultSpecAndReadsFoundationsOutput() throws {
        let spec = RuntimeSpec.defaultSpec()
        #expect(try JSONDecoding.decode(RuntimeSpec.self, from: try JSONEncoding.encode(spec)) == spec)
        #expect(try JSONDecoding.decode(RuntimeSpec.self, from: try JSONEncoding.encode(spec, pretty: true)) == spec)
        // State files written by earlier versions came from Foundation (escaped slashes, unsorted keys).
        let old = try JSONEncoder().encode(spec)
        #expect(try JSONDecoding.decode(RuntimeSpec.self, from: Array(old)) == spec)
        // And Foundation reads ours.
        #expect(try JSONDecoder().decode(RuntimeSpec.self, from: Data(try JSONEncoding.encode(spec))) == spec)
    }

    @Test func writesSortedKeysRuncStyle() throws {
        let state = ContainerState(id: "c/1", pid: 7, status: .running, bundle: "/b", rootfs: "/b/r", created: "t",
                                   annotations: ["z": "\u{1}\t\"\\", "a": ""])
        #expect(try JSONEncoding.string(state) == #"{"annotations":{"a":"","z":"\u0001\t\"\\"},"bundle":"/b","created":"t","id":"c/1","ociVersion":"\#(state.ociVersion)","owner":"","pid":7,"rootfs":"/b/r","status":"running"}"#)
        #expect(try JSONEncoding.string(["k": [1, 2], "e": [Int]()], pretty: true) == """
        {
          "e": [],
          "k": [
            1,
            2
          ]
        }
        """)
        #expect(throws: EncodingError.self) { try JSONEncoding.encode([Double.nan]) }
    }

    /// The coding path reaches the caller, which names the field (`process.user.uid: wrong type`).
    @Test func errorsCarryTheirPath() {
        func failure(_ json: String) -> DecodingError? {
            do {
                _ = try JSONDecoding.decode(RuntimeSpec.self, from: Array(json.utf8))
                return nil
            } catch {
                return error as? DecodingError
            }
        }
        func path(_ error: DecodingError?) -> String {
            let context: DecodingError.Context?
            switch error {
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
            case .keyNotFound(let key, let c): return (c.codingPath + [key]).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            default: context = nil
            }
            return context?.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") ?? "none"
        }
        let user = #"{"ociVersion":"1","root":{"path":"r"},"process":{"cwd":"/","user":{"uid":"#
        guard case .typeMismatch = failure(user + #""0","gid":0}}}"#) else { Issue.record("a string uid"); return }
        #expect(path(failure(user + #""0","gid":0}}}"#)) == "process.user.uid")
        guard case .valueNotFound = failure(user + #"null,"gid":0}}}"#) else { Issue.record("a null uid"); return }
        guard case .typeMismatch = failure(user + #"1.5,"gid":0}}}"#) else { Issue.record("a fraction"); return }
        guard case .dataCorrupted = failure(user + #"-1,"gid":0}}}"#) else { Issue.record("a negative uid"); return }
        guard case .keyNotFound = failure(user + #"0}}}"#) else { Issue.record("no gid"); return }
        #expect(path(failure(user + #"0}}}"#)) == "process.user.gid")
        let args = #"{"ociVersion":"1","root":{"path":"r"},"process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["a",2]}}"#
        #expect(path(failure(args)) == "process.args.[1]")
        guard case .dataCorrupted(let c) = failure(#"{"ociVersion":"1",}"#) else { Issue.record("a trailing comma"); return }
        #expect(c.codingPath.isEmpty)
        #expect("\(c.underlyingError!)" == "invalid JSON at byte 18: expected a member name")
    }

    @Test func refusesWhatIsNotJSON() {
        let bad: [[UInt8]] = [
            Array("".utf8), Array("{".utf8), Array("[1,]".utf8), Array("01".utf8), Array("1.".utf8), Array("-".utf8),
            Array("tru".utf8), Array("nul".utf8), Array("\"a".utf8), Array("\"\\x\"".utf8), Array("\"\\u12\"".utf8),
            Array("\"\\ud800\"".utf8), Array("\"\\udc00\"".utf8), Array("\"a\nb\"".utf8), Array("[1] 2".utf8),
            Array("{\"a\" 1}".utf8), Array("// c\n1".utf8), [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22],
            Array(repeating: UInt8(ascii: "["), count: 10_000) + Array(repeating: UInt8(ascii: "]"), count: 10_000),
        ]
        for bytes in bad {
            #expect(throws: JSONSyntaxError.self, "\(String(decoding: bytes.prefix(20), as: UTF8.self))") {
                try JSONDecoding.parse(bytes)
            }
        }
    }

    class Base: Codable { var a = 1 }
    final class Derived: Base {
        var b = 2
        enum Keys: CodingKey { case b, extra }
        override init() { super.init() }
        required init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            b = try c.decode(Int.self, forKey: .b)
            try super.init(from: try c.superDecoder())
        }
        override func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(b, forKey: .b)
            try super.encode(to: c.superEncoder())
            // Asked for twice, a nested container is the same object.
            var first = c.nestedContainer(keyedBy: Keys.self, forKey: .extra)
            try first.encode(1, forKey: .b)
            var second = c.nestedContainer(keyedBy: Keys.self, forKey: .extra)
            try second.encode(2, forKey: .extra)
        }
    }

    @Test func superclassesAndNestedContainersRoundTrip() throws {
        let value = Derived()
        value.a = 5
        value.b = 6
        let bytes = try JSONEncoding.encode(value)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"b":6,"extra":{"b":1,"extra":2},"super":{"a":5}}"#)
        let back = try JSONDecoding.decode(Derived.self, from: bytes)
        #expect(back.a == 5 && back.b == 6)
        let foundation = try JSONDecoder().decode(Derived.self, from: Data(bytes))
        #expect(foundation.a == 5 && foundation.b == 6)
    }

    @Test func outOfRangeNumbersAreRefused() {
        #expect(throws: DecodingError.self) { try JSONDecoding.decode([Double].self, from: Array("[1e400]".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoding.decode([UInt8].self, from: Array("[256]".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoding.decode([Int64].self, from: Array("[9223372036854775808]".utf8)) }
        #expect((try? JSONDecoding.decode([Int64].self, from: Array("[-9223372036854775808]".utf8))) == [Int64.min])
    }

    @Test func aNULIsRefusedOnlyWhenAsked() throws {
        let json = Array(#"{"a":[{"b":"x"},{"c":"y\u0000"}]}"#.utf8)
        #expect(try JSONDecoding.decode([String: [[String: String]]].self, from: json)["a"]?[1]["c"] == "y\u{0}")
        do {
            _ = try JSONDecoding.decode([String: [[String: String]]].self, from: json, rejectingNUL: true)
            Issue.record("a NUL was accepted")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue } == ["a", "1", "c"])
        }
        #expect(throws: DecodingError.self) { try JSONDecoding.decode([String: Int].self, from: Array(#"{"k\u0000":1}"#.utf8), rejectingNUL: true) }
    }

    @Test func readsValidCornerCases() throws {
        #expect(try JSONDecoding.parse(Array(" [ -0 , 1e5 , 2.5E-3 , true , null ] ".utf8))
            == .array([.number("-0"), .number("1e5"), .number("2.5E-3"), .bool(true), .null]))
        #expect(try JSONDecoding.parse(Array(#"{"a":1,"a":2}"#.utf8)) == .object(["a": .number("2")]))
        #expect(try JSONDecoding.decode([String: Double].self, from: Array(#"{"x":2.5e1}"#.utf8)) == ["x": 25])
        #expect(try JSONDecoding.decode([Int8?].self, from: Array("[null,-128]".utf8)) == [nil, -128])
        let nested = Array(repeating: UInt8(ascii: "["), count: 150) + Array(repeating: UInt8(ascii: "]"), count: 150)
        _ = try JSONDecoding.parse(nested)
    }
}
