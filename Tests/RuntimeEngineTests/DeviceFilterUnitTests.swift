import Foundation
import OCI
import Testing
@testable import Cgroups

/// The device rules' semantics, and the BPF program run through a small interpreter of the
/// instructions the generator emits, against those semantics for many requests.
@Suite struct DeviceFilterUnitTests {
    typealias Access = DeviceFilter.Access

    /// What the kernel would decide with this program: the program interpreted on one request.
    static func run(_ program: [UInt8], kind: UInt32, access: Access, major: UInt32, minor: UInt32) -> Int? {
        let context = [(access.rawValue << 16) | kind, major, minor]
        var registers = [UInt64](repeating: 0, count: 11)
        var pc = 0
        for _ in 0..<10_000 {
            guard pc * 8 + 8 <= program.count else { return nil }
            let i = Array(program[pc * 8..<pc * 8 + 8])
            let (code, dst, src) = (i[0], Int(i[1] & 0xf), Int(i[1] >> 4))
            let offset = Int(Int16(bitPattern: UInt16(i[2]) | UInt16(i[3]) << 8))
            let imm = Int32(bitPattern: UInt32(i[4]) | UInt32(i[5]) << 8 | UInt32(i[6]) << 16 | UInt32(i[7]) << 24)
            let extended = UInt64(bitPattern: Int64(imm))
            pc += 1
            switch code {
            case 0x61: registers[dst] = UInt64(context[offset / 4])
            case 0x54: registers[dst] = UInt64(UInt32(truncatingIfNeeded: registers[dst]) & UInt32(bitPattern: imm))
            case 0x74: registers[dst] = UInt64(UInt32(truncatingIfNeeded: registers[dst]) >> UInt32(imm))
            case 0xbc: registers[dst] = UInt64(UInt32(truncatingIfNeeded: registers[src]))
            case 0xb7: registers[dst] = extended
            case 0x55: if registers[dst] != extended { pc += offset }
            case 0x15: if registers[dst] == extended { pc += offset }
            case 0x95: return Int(registers[0])
            default: return nil
            }
        }
        return nil
    }

    @Test func containerdsRulesBecomeAnAllowList() throws {
        let filter = try DeviceFilter.container([
            .init(allow: false, access: "rwm"),
            .init(allow: true, type: "c", major: 10, minor: 229, access: "rwm"),
        ])
        #expect(!filter.defaultAllow)
        #expect(filter.entries[.init(kind: .char, major: 10, minor: 229)] == .all)
        #expect(filter.entries[.init(kind: .char, major: 1, minor: 3)] == .all, "the defaults follow")
        #expect(filter.entries[.init(kind: .block, major: nil, minor: nil)] == .mknod)
    }

    @Test func allowAllResetsToADenyList() throws {
        let filter = try DeviceFilter.container([
            .init(allow: true, access: "rwm"),
            .init(allow: false, type: "b", major: 8, minor: 0, access: "w"),
        ])
        #expect(filter.defaultAllow)
        // In a deny list the default allow rules change nothing but the denied entry.
        #expect(filter.entries == [.init(kind: .block, major: 8, minor: 0): .write])
    }

    @Test func aDenyAfterAnAllowTakesAccessAway() throws {
        let filter = try DeviceFilter.container([.init(allow: false, type: "c", major: 1, minor: 3, access: "w")])
        // The default rules come after the spec's, as in runc: /dev/null stays fully usable.
        #expect(filter.entries[.init(kind: .char, major: 1, minor: 3)] == .all)
        var manual = DeviceFilter(defaultAllow: false, entries: [:])
        try manual.apply(.init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"), index: 0)
        try manual.apply(.init(allow: false, type: "c", major: 1, minor: 3, access: "w"), index: 1)
        #expect(manual.entries[.init(kind: .char, major: 1, minor: 3)] == [.read, .mknod])
    }

    @Test(arguments: [("x", "rwm"), ("c", "rwx"), ("c", "")])
    func invalidRulesAreRefused(type: String, access: String) {
        #expect(throws: DeviceFilter.InvalidRule.self) {
            _ = try DeviceFilter.container([.init(allow: true, type: type, major: 1, minor: 3, access: access)])
        }
    }

    @Test func theProgramForOneEntryIsExactly() {
        let filter = DeviceFilter(defaultAllow: false, entries: [.init(kind: .char, major: 1, minor: 3): .all])
        let program = DeviceFilterProgram.bytes(filter)
        #expect(program.count == 13 * 8)
        // The entry's block: kind, major, minor tests each skipping to the end of the block.
        #expect(Array(program[48..<56]) == [0x55, 0x02, 4, 0, 2, 0, 0, 0])
        #expect(Array(program[56..<64]) == [0x55, 0x04, 3, 0, 1, 0, 0, 0])
        #expect(Array(program[64..<72]) == [0x55, 0x05, 2, 0, 3, 0, 0, 0])
        #expect(Array(program[72..<88]) == [0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(program[88..<104]) == [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
    }

    /// The program decides as the filter says, for allow lists and deny lists alike.
    @Test func theProgramAgreesWithTheRulesOnEveryRequest() throws {
        let specs: [[RuntimeSpec.DeviceRule]] = [
            [.init(allow: false, access: "rwm"), .init(allow: true, type: "b", major: 8, minor: 0, access: "r"),
             .init(allow: true, type: "c", major: 4, access: "rw")],
            [.init(allow: true, access: "rwm"), .init(allow: false, type: "b", major: 8, access: "w"),
             .init(allow: false, type: "c", major: 1, minor: 1, access: "rwm")],
            [],
        ]
        for rules in specs {
            let filter = try DeviceFilter.container(rules)
            let program = DeviceFilterProgram.bytes(filter)
            for kind in [DeviceFilter.Kind.block, .char] {
                for major: UInt32 in [1, 4, 5, 8, 10, 136, 254] {
                    for minor: UInt32 in [0, 1, 3, 5, 200, 229] {
                        for bits: UInt32 in 1...7 {
                            let access = Access(rawValue: bits)
                            let expected = Self.decide(filter, kind, access, major, minor) ? 1 : 0
                            #expect(Self.run(program, kind: kind.rawValue, access: access, major: major, minor: minor) == expected,
                                    "\(kind) \(major):\(minor) \(bits) with \(rules)")
                        }
                    }
                }
            }
        }
    }

    /// The cgroup v1 devices controller's rule, written plainly.
    static func decide(_ filter: DeviceFilter, _ kind: DeviceFilter.Kind, _ access: Access, _ major: UInt32, _ minor: UInt32) -> Bool {
        for (key, allowed) in filter.entries {
            guard key.kind == nil || key.kind == kind, key.major == nil || key.major == major, key.minor == nil || key.minor == minor else { continue }
            if filter.defaultAllow {
                if !allowed.isDisjoint(with: access) { return false }
            } else if allowed.isSuperset(of: access) {
                return true
            }
        }
        return filter.defaultAllow
    }
}
