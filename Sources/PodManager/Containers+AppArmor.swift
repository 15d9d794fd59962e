import LinuxKit
import SpecBuilder

// AppArmor on nodes that enforce it: skiffd loads its default profile (RuntimeDefault, and what an
// unprivileged container gets when it asks for nothing), and a Localhost profile must already be
// loaded. `skiff` applies the profile at the container's execve.
extension Containers {
    static let appArmorDefaultName = "skiff-default"

    /// Where AppArmor can be used: the kernel enforces it and the parser that loads profiles is
    /// installed (without it no profile can be loaded, so none is asked for — as containerd).
    static var appArmorParser: String? {
        guard (try? AtomicFile.read("/sys/module/apparmor/parameters/enabled", limit: 8))?.first == UInt8(ascii: "Y") else { return nil }
        return ["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"].first(where: FileSystem.exists)
    }

    /// The profiles the kernel has, by name ("name (mode)" lines).
    static func loadedAppArmorProfiles() -> Set<String> {
        guard let bytes = try? AtomicFile.read("/sys/kernel/security/apparmor/profiles", limit: 16 << 20) else { return [] }
        return Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line in
            String(line.lastIndex(of: " ").map { line[..<$0] } ?? line)
        })
    }

    /// The default profile's name once it is loaded; nil where AppArmor is not in use. Checks the
    /// choice: a Localhost profile that is not loaded is refused at create, not left to fail the
    /// start.
    static func appArmorDefault(for choice: ContainerInput.AppArmorChoice) throws -> String? {
        guard let parser = appArmorParser else { return nil }
        let loaded = loadedAppArmorProfiles()
        if case .localhost(let name) = choice, !loaded.contains(name) {
            throw PodManagerError.wrongState("AppArmor profile \"\(name)\" is not loaded on this node")
        }
        if !loaded.contains(appArmorDefaultName) {
            // -r replaces a profile of the same name (another skiffd's, an older version of ours).
            let result: ChildProcess.Result
            do { result = try ChildProcess.run(parser, ["-Kr"], stdin: Array(defaultProfile.utf8), timeout: 60) } catch {
                throw PodManagerError.runtimeFailed(operation: "AppArmor profile load", message: "\(error)")
            }
            guard result.status == 0 else {
                throw PodManagerError.runtimeFailed(operation: "AppArmor profile load", message: String(result.stderr.prefix(500)))
            }
        }
        return appArmorDefaultName
    }

    /// Written for Skiff: everything a container normally does, within what its capabilities and
    /// seccomp allow, less the kernel's own controls. Mounts are refused even with CAP_SYS_ADMIN;
    /// /proc's top-level files (sysrq-trigger, kcore, the kernel's tunables) and /sys's device,
    /// firmware, module and security trees cannot be written; signals and ptrace stay within
    /// containers under this profile (the runtime, unconfined, may still signal them).
    static let defaultProfile = """
        #include <tunables/global>

        profile skiff-default flags=(attach_disconnected,mediate_deleted) {
          #include <abstractions/base>

          file,
          network,
          capability,
          umount,
          deny mount,
          deny pivot_root,

          signal (receive) peer=unconfined,
          signal (send,receive) peer=skiff-default,
          ptrace (trace,read,tracedby,readby) peer=skiff-default,

          deny @{PROC}/* w,
          deny @{PROC}/sys/kernel/{core_pattern,modprobe,hotplug,poweroff_cmd,sysrq} wklx,
          deny @{PROC}/sysrq-trigger rwklx,
          deny @{PROC}/kcore rwklx,
          deny /sys/{block,bus,class,dev,devices,hypervisor,module,power}/** wklx,
          deny /sys/firmware/** rwklx,
          deny /sys/kernel/{debug,security}/** rwklx,
        }

        """
}
