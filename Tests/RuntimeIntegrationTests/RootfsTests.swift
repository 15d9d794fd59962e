import Foundation
import LinuxKit
import OCI
import Testing

/// The container's filesystem view: mounts, masks, read-only paths, /dev, and hostile symlinks.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct RootfsTests {
    @Test(arguments: RuntimeUnderTest.all)
    func masksAndReadOnlyPathsHold(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c",
            "/probe read /proc/keys; /probe write /proc/sys/kernel/domainname; /probe write /root-file; /probe write /tmp/ok"])
        bundle.spec.linux?.maskedPaths?.append("/proc/keys")
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("read /proc/keys ok:0"), "a masked file must read as /dev/null: \(out.stdout)")
        #expect(out.stdout.contains("write /proc/sys/kernel/domainname error:30"), "/proc/sys must be read-only")
        #expect(out.stdout.contains("write /root-file error:30"), "the root is read-only")
        #expect(out.stdout.contains("write /tmp/ok ok"))
    }

    @Test(arguments: RuntimeUnderTest.all)
    func devHasTheDefaultNodesAndLinks(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "ls -l /dev/null /dev/zero /dev/urandom /dev/tty /dev/full /dev/random; ls -l /dev/fd /dev/ptmx"])
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        for (name, numbers) in [("null", "1,   3"), ("zero", "1,   5"), ("urandom", "1,   9"), ("tty", "5,   0")] {
            let line = out.stdout.split(separator: "\n").first { $0.hasSuffix(" /dev/\(name)") } ?? ""
            #expect(line.hasPrefix("crw-rw-rw-") && line.contains(" \(numbers) "), "/dev/\(name): \(line)")
        }
        #expect(out.stdout.contains("/dev/fd -> /proc/self/fd"))
        #expect(out.stdout.contains("/dev/ptmx -> pts/ptmx"))
    }

    @Test(arguments: RuntimeUnderTest.all)
    func bindMountsHonourReadOnly(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "cat /data/in; /probe write /data/new; /probe write /rw/new"])
        let data = bundle.dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "hello\n".write(toFile: data + "/in", atomically: true, encoding: .utf8)
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/data", type: "bind", source: data, options: ["rbind", "ro"]))
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/rw", type: "bind", source: data, options: ["bind", "rw"]))
        let out = try bundle.runContainer(runtime)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("hello"))
        #expect(out.stdout.contains("write /data/new error:30"))
        #expect(out.stdout.contains("write /rw/new ok"))
        #expect(FileManager.default.fileExists(atPath: data + "/new"))
    }

    /// A symlink in the image pointing at an absolute host path must resolve inside the rootfs.
    @Test func mountTargetsBehindSymlinksStayInsideTheRoot() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-outside-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let bundle = try Bundle(args: ["/bin/sh", "-c", "ls -d \(outside)/made && /probe write /escape/made/file"])
        try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/escape", withDestinationPath: outside)
        bundle.spec.root?.readonly = false
        bundle.spec.mounts = bundle.spec.mounts?.filter { $0.destination != "/tmp" }
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/escape/made", type: "tmpfs", source: "tmpfs"))
        let out = try bundle.runContainer(.skiff)
        #expect(out.status == 0, "\(out.stderr) \(out.stdout)")
        #expect(out.stdout.contains("write /escape/made/file ok"))
        // The mount point was created inside the rootfs, at the symlink's in-root target.
        #expect(FileManager.default.fileExists(atPath: bundle.rootfs + outside + "/made"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "the host directory was touched")
    }

    @Test func aDevSymlinkCannotRedirectDeviceNodesToTheHost() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-devout-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let bundle = try Bundle(args: ["/bin/true"])
        try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/dev", withDestinationPath: outside)
        bundle.spec.root?.readonly = false
        bundle.spec.mounts = bundle.spec.mounts?.filter { !$0.destination.hasPrefix("/dev") && $0.destination != "/tmp" }
        let out = try bundle.runContainer(.skiff)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "device nodes escaped to the host")
        #expect(FileManager.default.fileExists(atPath: bundle.rootfs + outside + "/null"))
    }
}

/// Bidirectional propagation (CRI's PROPAGATION_BIDIRECTIONAL: containerd asks for an rshared
/// volume and an rshared rootfs): a mount made in the container on a volume reaches the host.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct PropagationTests {
    @Test(arguments: RuntimeUnderTest.all)
    func anRsharedVolumeCarriesMountsBackToTheHost(runtime: RuntimeUnderTest) throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c", "/bin/busybox mount -t tmpfs fromcontainer /vol/sub && /bin/busybox sleep 5"])
        let volume = bundle.dir + "/volume"
        try FileManager.default.createDirectory(atPath: volume + "/sub", withIntermediateDirectories: true)
        // The volume is a shared mount on the host, as a kubelet's pod volume directory is.
        #expect(mount(volume, volume, nil, UInt(MS_BIND), nil) == 0)
        #expect(mount(nil, volume, nil, UInt(MS_SHARED), nil) == 0)
        defer {
            umount2(volume + "/sub", Int32(MNT_DETACH))
            umount2(volume, Int32(MNT_DETACH))
        }
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/vol", type: "bind", source: volume, options: ["rbind", "rshared"]))
        bundle.spec.linux?.rootfsPropagation = "rshared"
        var caps = bundle.spec.process?.capabilities ?? RuntimeSpec.Capabilities()
        for set in [\RuntimeSpec.Capabilities.bounding, \.effective, \.permitted] { caps[keyPath: set] = (caps[keyPath: set] ?? []) + ["CAP_SYS_ADMIN"] }
        bundle.spec.process?.capabilities = caps
        bundle.spec.process?.noNewPrivileges = true
        try bundle.writeSpec()
        #expect(try bundle.detached(runtime, ["run", "-d", "--bundle", bundle.dir, bundle.id]).status == 0)
        var seen = false
        for _ in 0..<100 where !seen {
            let mounts = FileSystem.mountInfo()
            seen = mounts.split(separator: "\n").contains { $0.contains(" \(volume)/sub ") && $0.contains("fromcontainer") }
            if !seen { usleep(50_000) }
        }
        #expect(seen, "the container's mount did not reach the host")
        // And nothing else of the container's (its rootfs bind) appeared on the host.
        let mounts = FileSystem.mountInfo()
        #expect(!mounts.contains(" \(bundle.rootfs) "), "the container's rootfs mount leaked to the host")
    }
}

/// `rro` (CRI's recursive_read_only): the volume and every mount below it are read-only, where a
/// plain `ro` leaves a submount writable.
@Suite(.enabled(if: isRoot, "needs root for namespaces and mounts"))
struct RecursiveReadOnlyTests {
    @Test(arguments: [("ro", "0"), ("rro", "1")])
    func aSubmountIsReadOnlyOnlyUnderRro(option: String, refusals: String) throws {
        let bundle = try Bundle(args: ["/bin/sh", "-c",
                                       "n=0; for f in /vol/top /vol/sub/inner; do /bin/busybox touch $f 2>/dev/null || n=$((n+1)); done; echo refused=$n"])
        let volume = bundle.dir + "/volume"
        try FileManager.default.createDirectory(atPath: volume + "/sub", withIntermediateDirectories: true)
        #expect(mount("tmpfs", volume + "/sub", "tmpfs", 0, nil) == 0)
        defer { umount2(volume + "/sub", Int32(MNT_DETACH)) }
        bundle.spec.mounts?.append(RuntimeSpec.Mount(destination: "/vol", type: "bind", source: volume, options: ["rbind", "rprivate", option]))
        try bundle.writeSpec()
        let outcome = try bundle.run(.skiff, ["run", "--bundle", bundle.dir, bundle.id])
        // The top is read-only either way; the tmpfs below it only under rro.
        #expect(outcome.stdout.contains("refused=\(refusals == "1" ? 2 : 1)"), "\(outcome.stdout) \(outcome.stderr)")
    }
}
