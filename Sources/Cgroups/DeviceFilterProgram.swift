/// A `BPF_PROG_TYPE_CGROUP_DEVICE` program for a `DeviceFilter`: cgroup v2 has no devices
/// controller, so each open and mknod of a device node by a process of the cgroup runs this.
/// The context is `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, the
/// device kind in the low 16 bits of `access_type` and the requested access in the high 16.
/// Returning 1 allows, 0 refuses with EPERM.
public enum DeviceFilterProgram {
    /// One `struct bpf_insn`: opcode, dst and src registers, offset, immediate.
    struct Instruction: Equatable {
        var code: UInt8
        var dst: UInt8 = 0
        var src: UInt8 = 0
        var offset: Int16 = 0
        var imm: Int32 = 0

        var bytes: [UInt8] {
            let off = UInt16(bitPattern: offset), value = UInt32(bitPattern: imm)
            return [code, dst | src << 4, UInt8(off & 0xff), UInt8(off >> 8),
                    UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
        }
    }

    // Opcodes (linux/bpf.h): loads, 32-bit ALU with an immediate or a register, jumps, exit.
    static let loadWord: UInt8 = 0x61       // BPF_LDX | BPF_MEM | BPF_W
    static let and32: UInt8 = 0x54          // BPF_ALU | BPF_AND | BPF_K
    static let rightShift32: UInt8 = 0x74   // BPF_ALU | BPF_RSH | BPF_K
    static let move32: UInt8 = 0xbc         // BPF_ALU | BPF_MOV | BPF_X
    static let move64: UInt8 = 0xb7         // BPF_ALU64 | BPF_MOV | BPF_K
    static let jumpNotEqual: UInt8 = 0x55   // BPF_JMP | BPF_JNE | BPF_K
    static let jumpEqual: UInt8 = 0x15      // BPF_JMP | BPF_JEQ | BPF_K
    static let exit: UInt8 = 0x95           // BPF_JMP | BPF_EXIT

    /// The program as the kernel loads it: 8 bytes per instruction.
    public static func bytes(_ filter: DeviceFilter) -> [UInt8] { instructions(filter).flatMap(\.bytes) }

    static func instructions(_ filter: DeviceFilter) -> [Instruction] {
        // r2 = kind, r3 = requested access, r4 = major, r5 = minor.
        var program: [Instruction] = [
            Instruction(code: loadWord, dst: 2, src: 1, offset: 0),
            Instruction(code: and32, dst: 2, imm: 0xffff),
            Instruction(code: loadWord, dst: 3, src: 1, offset: 0),
            Instruction(code: rightShift32, dst: 3, imm: 16),
            Instruction(code: loadWord, dst: 4, src: 1, offset: 4),
            Instruction(code: loadWord, dst: 5, src: 1, offset: 8),
        ]
        for (key, access) in filter.entries.sorted(by: { $0.key < $1.key }) {
            program += block(key, access, exception: !filter.defaultAllow)
        }
        program += [Instruction(code: move64, dst: 0, imm: filter.defaultAllow ? 1 : 0), Instruction(code: exit)]
        return program
    }

    /// One entry: each test that fails jumps past the rest of the block, to the next entry.
    static func block(_ key: DeviceFilter.Key, _ access: DeviceFilter.Access, exception allows: Bool) -> [Instruction] {
        var tests: [(Int) -> [Instruction]] = []
        if let kind = key.kind {
            tests.append { skip in [Instruction(code: jumpNotEqual, dst: 2, offset: Int16(skip), imm: Int32(kind.rawValue))] }
        }
        if allows {
            // An allowed entry covers a request only if every requested bit is in it.
            if access != .all {
                let outside = Int32(DeviceFilter.Access.all.subtracting(access).rawValue)
                tests.append { skip in [Instruction(code: move32, dst: 1, src: 3), Instruction(code: and32, dst: 1, imm: outside),
                                        Instruction(code: jumpNotEqual, dst: 1, offset: Int16(skip), imm: 0)] }
            }
        } else {
            // A denied entry refuses a request that asks for any of its bits.
            tests.append { skip in [Instruction(code: move32, dst: 1, src: 3), Instruction(code: and32, dst: 1, imm: Int32(access.rawValue)),
                                    Instruction(code: jumpEqual, dst: 1, offset: Int16(skip), imm: 0)] }
        }
        if let major = key.major {
            tests.append { skip in [Instruction(code: jumpNotEqual, dst: 4, offset: Int16(skip), imm: Int32(major))] }
        }
        if let minor = key.minor {
            tests.append { skip in [Instruction(code: jumpNotEqual, dst: 5, offset: Int16(skip), imm: Int32(minor))] }
        }
        let verdict = [Instruction(code: move64, dst: 0, imm: allows ? 1 : 0), Instruction(code: exit)]
        // Built back to front: each test ends in its jump, which skips everything after it in
        // the block (offsets count from the next instruction).
        var out = verdict
        for test in tests.reversed() { out = test(out.count) + out }
        return out
    }
}
