import OCI
import Testing
@testable import Cgroups
@testable import SystemdBus

/// The systemd driver's pure parts: unit names and slices as runc derives them, the properties,
/// and the D-Bus bytes (checked against the specification's layout; the VM test talks to systemd).
@Suite struct SystemdDriverTests {
    @Test func cgroupsPathsBecomeScopesInSlices() throws {
        let scope = try SystemdScope(cgroupsPath: "kubepods-besteffort-pod1a2b.slice:cri-containerd:c0ffee", id: "c0ffee")
        #expect(scope.slice == "kubepods-besteffort-pod1a2b.slice")
        #expect(scope.unit == "cri-containerd-c0ffee.scope")
        #expect(scope.relativePath == "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b.slice/cri-containerd-c0ffee.scope")
        let plain = try SystemdScope(cgroupsPath: nil, id: "x1")
        #expect(plain.slice == "system.slice" && plain.unit == "skiff-x1.scope")
        #expect(try SystemdScope(cgroupsPath: ":skiff:x2", id: "x2").relativePath == "/system.slice/skiff-x2.scope")
        #expect(try SystemdScope.expand("-.slice") == "")
    }

    @Test(arguments: ["/kubepods/pod1/c1", "a.slice:b", "a.slice:b:c:d", "a--b.slice:p:n", "notaslice:p:n", "a.slice:p:n.slice", "a.slice:p/x:n"])
    func malformedPathsAreRefused(path: String) {
        #expect(throws: CgroupError.self) { try SystemdScope(cgroupsPath: path, id: "n") }
    }

    @Test func resourcesBecomeTheUnitPropertiesSystemdKnows() {
        var r = RuntimeSpec.Resources()
        r.memory = RuntimeSpec.Memory(limit: 64 << 20, swap: 64 << 20)
        r.cpu = RuntimeSpec.CPU(shares: 1024, quota: 12_345, period: 100_000)
        r.pids = RuntimeSpec.Pids(limit: -1)
        let properties = SystemdScope.properties(r)
        #expect(properties.map(\.0) == ["MemoryMax", "MemorySwapMax", "CPUWeight", "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec", "TasksMax"])
        #expect(properties.map(\.1) == [.uint64(64 << 20), .uint64(0), .uint64(39), .uint64(100_000), .uint64(130_000), .uint64(.max)])
    }

    @Test func aMethodCallIsLaidOutAsTheSpecificationSays() throws {
        var body = DBusWriter()
        body.string("skiff-x.scope")
        body.string("replace")
        let message = DBusMessage(kind: .methodCall, serial: 7, path: "/org/freedesktop/systemd1",
                                  interface: "org.freedesktop.systemd1.Manager", member: "StopUnit",
                                  destination: "org.freedesktop.systemd1", signature: "ss", body: body.bytes)
        let bytes = message.bytes
        #expect(Array(bytes[0..<4]) == [UInt8(ascii: "l"), 1, 0, 1])
        #expect(Array(bytes[4..<8]) == [UInt8(body.bytes.count), 0, 0, 0], "body length, little-endian")
        #expect(Array(bytes[8..<12]) == [7, 0, 0, 0], "serial")
        // The first header field: code 1 (path), variant signature "o", then the string at offset 24.
        #expect(Array(bytes[16..<20]) == [1, 1, UInt8(ascii: "o"), 0])
        #expect(Array(bytes[20..<24]) == [25, 0, 0, 0])
        #expect((bytes.count - body.bytes.count) % 8 == 0, "the body starts at a multiple of 8")
        #expect(DBusMessage.length(ofHeader: Array(bytes.prefix(16))) == bytes.count)
        let parsed = try DBusMessage(parsing: bytes)
        #expect(parsed == message)
        #expect(try parsed.values() == [.string("skiff-x.scope"), .string("replace")])
    }

    @Test func variantsAndArraysAreAligned() {
        var w = DBusWriter()
        w.byte(1)
        w.array(alignment: 8) { w in
            w.structure { w in
                w.string("PIDs")
                w.variant(.uint32Array([42]))
            }
        }
        // 1 byte, pad to 4, length 4 bytes, pad to 8, then the struct: "PIDs" (4+4+1), pad, "au", ...
        #expect(Array(w.bytes[4..<8]) == [UInt8(w.bytes.count - 8), 0, 0, 0], "the length leaves out the padding before the first element")
        #expect(Array(w.bytes[8..<12]) == [4, 0, 0, 0])
        #expect(Array(w.bytes[17..<21]) == [2, UInt8(ascii: "a"), UInt8(ascii: "u"), 0])
        #expect(Array(w.bytes[24..<32]) == [4, 0, 0, 0, 42, 0, 0, 0])
    }
}
