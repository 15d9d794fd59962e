import Foundation
import Glibc
import OCI
import Testing

/// The device cgroup: a node for a device the rules do not allow never opens, whether the
/// container made it (CRI's default capabilities include CAP_MKNOD) or an image layer shipped it.
/// Under runc on this host the v1 devices controller enforces the same rules, which proves the tests.
@Suite(.enabled(if: isRoot, "needs root for namespaces, mounts and the device cgroup"))
struct DeviceFilterTests {
    /// A block device of this machine (its major and minor), and a container allowed to make nodes.
    static let disk: (major: Int, minor: Int)? = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/dev/block")) ?? []
        for entry in entries.sorted() {
            let uevent = (try? String(contentsOfFile: "/sys/dev/block/\(entry)/uevent", encoding: .utf8)) ?? ""
            let numbers = entry.split(separator: ":").compactMap { Int($0) }
            if uevent.contains("DEVTYPE=disk"), !uevent.contains("DEVNAME=loop"), numbers.count == 2 { return (numbers[0], numbers[1]) }
        }
        return nil
    }()

    /// glibc's makedev, which Swift's Glibc module lacks.
    static func makedev(_ major: Int, _ minor: Int) -> dev_t {
        let (ma, mi) = (UInt64(major), UInt64(minor))
        return dev_t((ma & 0xfffff000) << 32 | (ma & 0xfff) << 8 | (mi & 0xffffff00) << 12 | (mi & 0xff))
    }

    func bundle(_ script: String) throws -> Bundle {
        let bundle = try Bundle(args: ["/bin/sh", "-c", script])
        var caps = bundle.spec.process?.capabilities ?? RuntimeSpec.Capabilities()
        for set in [\RuntimeSpec.Capabilities.bounding, \.effective, \.permitted] {
            caps[keyPath: set] = (caps[keyPath: set] ?? []) + ["CAP_MKNOD"]
        }
        bundle.spec.process?.capabilities = caps
        return bundle
    }

    @Test(arguments: RuntimeUnderTest.all)
    func aNodeTheContainerMakesForTheHostDiskDoesNotOpen(runtime: RuntimeUnderTest) throws {
        let disk = try #require(Self.disk, "no block device on this machine")
        let bundle = try bundle("/bin/busybox mknod /dev/disk b \(disk.major) \(disk.minor) && echo made; /probe read /dev/disk; /probe read /dev/null")
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("made"), "mknod is allowed (c *:* m, b *:* m): \(out.stdout)")
        #expect(out.stdout.contains("read /dev/disk error:1"), "the disk must not open: \(out.stdout)")
        #expect(out.stdout.contains("read /dev/null ok:0"), "\(out.stdout)")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func aNodeShippedInTheImageDoesNotOpen(runtime: RuntimeUnderTest) throws {
        let disk = try #require(Self.disk, "no block device on this machine")
        let bundle = try bundle("/probe read /shipped")
        try #require(mknod(bundle.rootfs + "/shipped", S_IFBLK | 0o600, Self.makedev(disk.major, disk.minor)) == 0)
        let out = try bundle.runContainer(runtime)
        #expect(out.stdout.contains("read /shipped error:1"), "\(out.stdout) \(out.stderr)")
    }

    @Test(arguments: RuntimeUnderTest.all)
    func aRuleAllowsExactlyWhatItSays(runtime: RuntimeUnderTest) throws {
        let disk = try #require(Self.disk, "no block device on this machine")
        let bundle = try bundle("/bin/busybox mknod /dev/disk b \(disk.major) \(disk.minor); /probe read /dev/disk; /probe write /dev/disk")
        // containerd's and runc's form: deny everything, then the exceptions.
        bundle.spec.linux?.resources = RuntimeSpec.Resources()
        bundle.spec.linux?.resources?.devices = [
            .init(allow: false, access: "rwm"),
            .init(allow: true, type: "b", major: Int64(disk.major), minor: Int64(disk.minor), access: "r"),
        ]
        let out = try bundle.runContainer(runtime)
        #expect(out.stdout.contains("read /dev/disk ok:"), "read is allowed: \(out.stdout) \(out.stderr)")
        // Opening for writing is refused by the cgroup (EPERM), not reached at all.
        #expect(out.stdout.contains("write /dev/disk error:1"), "write is not: \(out.stdout)")
    }

    @Test func anInvalidRuleIsRefusedNamingIt() throws {
        let bundle = try bundle("true")
        bundle.spec.linux?.resources = RuntimeSpec.Resources()
        bundle.spec.linux?.resources?.devices = [.init(allow: true, type: "c", major: 1, minor: 3, access: "rwx")]
        let out = try bundle.runContainer(.skiff)
        #expect(out.status != 0)
        #expect(out.stderr.contains("linux.resources.devices[0]"), "\(out.stderr)")
    }
}
