#!/usr/bin/env bash
# Runs Tests/VM/cgroup-tests.sh against an OCI runtime inside a qemu VM.
#
# This host's cgroup v2 tree has no memory/pids/cpu controllers, so cgroup v2 limits can only be
# seen enforced in a VM: Debian's kernel, booted (TCG, no KVM here) with an initramfs holding
# busybox, the runtime and its shared libraries, the test bundles and the guest scripts.
#
# Usage: Scripts/vm/run-tests.sh RUNTIME_BINARY     (e.g. /usr/sbin/runc, .build/release/skiff)
# Needs: apt-get (once, for the kernel), dpkg-deb, busybox-static, python3, qemu-system-x86.
# The kernel is cached in .build/vm/kernel (delete it to fetch the current one); later runs are offline.
set -euo pipefail

[[ $# -eq 1 && -x $1 ]] || { echo "usage: $0 RUNTIME_BINARY (an executable)" >&2; exit 2; }
runtime=$(realpath "$1")       # before the cd: the argument is relative to the caller
cd "$(dirname "$0")/../.."
source Scripts/vm/qemu-boot.sh
cache=.build/vm
mkdir -p "$cache"

# --- Kernel: the package linux-image-amd64 currently depends on, e.g. linux-image-6.1.0-57-amd64.
# Only vmlinuz is kept: the tests need no modules (bundle rootfs are plain directories on tmpfs;
# namespaces and cgroups are built in). The package's modules are uncompressed .ko files, should a
# later test need overlay or veth: extract them here and insmod them in Tests/VM/init.
if [[ ! -f $cache/kernel/vmlinuz ]]; then
    dl=$cache/download
    rm -rf "$dl" && mkdir -p "$dl"
    # Unsandboxed: as root, apt would otherwise warn that _apt cannot write to $dl. A fresh machine
    # may have no package lists yet.
    fetch() { (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "$@"); }
    fetch linux-image-amd64 || { apt-get update -qq && fetch linux-image-amd64; }
    depends=$(dpkg-deb -f "$dl"/linux-image-amd64_*.deb Depends)   # "linux-image-6.1.0-57-amd64 (= 6.1.192-3)"
    depends=${depends%%[,|]*}
    read -r pkg version <<<"${depends//[()=]/ }"
    echo "downloading $pkg $version"
    fetch "$pkg=$version"
    dpkg-deb --fsys-tarfile "$dl/${pkg}_"*.deb | tar -x -C "$dl" --wildcards './boot/vmlinuz-*'
    mkdir -p "$cache/kernel"
    mv "$dl"/boot/vmlinuz-* "$cache/kernel/vmlinuz"
    echo "$pkg $version" >"$cache/kernel/version"
    rm -rf "$dl"
fi

# --- Initramfs tree: busybox, the runtime, the guest scripts, one bundle per test.
busybox=/bin/busybox
if ldd "$busybox" >/dev/null 2>&1; then
    echo "$busybox is dynamically linked: install busybox-static" >&2; exit 1
fi
root=$cache/initramfs
rm -rf "$root" && mkdir -p "$root"/{proc,sys,dev,run,tmp,vm/bundles}

# busybox and a symlink for each applet (bin/sh, sbin/switch_root, usr/bin/timeout, ...), made
# once and copied: it is the VM's userland and each bundle's rootfs.
userland=$cache/busybox
rm -rf "$userland"
install -D -m 755 "$busybox" "$userland/bin/busybox"
for applet in $("$busybox" --list-full); do
    [[ $applet == bin/busybox ]] && continue       # listed too
    mkdir -p "$userland/$(dirname "$applet")"
    ln -s /bin/busybox "$userland/$applet"
done
cp -a "$userland/." "$root"

# The runtime at /usr/bin/skiff, with every library ldd names (the dynamic loader included) at the
# same path: the guest has no ld.so.cache, and Debian's loader searches /lib/x86_64-linux-gnu itself.
install -D -m 755 "$runtime" "$root/usr/bin/skiff"
libs=$(ldd "$runtime" 2>/dev/null || true)      # ldd fails for a static binary: nothing to copy
if grep "not found" <<<"$libs" >&2; then echo "$runtime: missing libraries" >&2; exit 1; fi
for lib in $(grep -o '/[^ ]*' <<<"$libs"); do
    install -D -m 755 "$(realpath "$lib")" "$root$lib"
done

install -m 755 Tests/VM/init "$root/init"
install -m 755 Tests/VM/cgroup-tests.sh "$root/vm/cgroup-tests.sh"

# Bundles: a copy of the busybox userland as writable rootfs, and a config.json from the
# runtime's own `spec`, with the process running /payload.sh (which the guest test writes) and
# the test's cgroup path and limits.
spec=$(mktemp -d)
trap 'rm -rf "$spec"' EXIT
(cd "$spec" && "$runtime" spec)
python3 - "$spec/config.json" "$userland" "$root/vm/bundles" <<'PY'
import copy, json, shutil, sys

spec, userland, bundles = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
MiB = 1 << 20
limits = {
    "memory": {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}},  # swap = limit: no swap on top
    "pids": {"pids": {"limit": 16}},
    "cpu": {"cpu": {"quota": 10000, "period": 100000}},           # 10 % of one CPU
}
for name, resources in limits.items():
    config = copy.deepcopy(spec)
    config["process"]["terminal"] = False       # no console socket in the VM
    config["process"]["args"] = ["sh", "/payload.sh"]
    config["root"] = {"path": "rootfs", "readonly": False}
    config["linux"]["cgroupsPath"] = "/skiff-vm/" + name
    # Merge: runc's spec already has resources (its device rules).
    config["linux"].setdefault("resources", {}).update(resources)
    shutil.copytree(userland, f"{bundles}/{name}/rootfs", symlinks=True)
    with open(f"{bundles}/{name}/config.json", "w") as f:
        json.dump(config, f, indent=2)
PY

# --- Pack the tree as a gzipped newc cpio. In python, so that /dev/console (the kernel opens it
# for init's stdio before anything is mounted) needs no mknod and the cpio package is not needed.
python3 - "$root" "$cache/initrd.gz" <<'PY'
import gzip, os, stat, sys

root, out = sys.argv[1], gzip.open(sys.argv[2], "wb", compresslevel=6)
ino = 0

def entry(name, mode, data=b"", rdev=(0, 0)):
    global ino
    ino += 1
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
    header = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    out.write(header + b"\0" * (-len(header) % 4))
    out.write(data + b"\0" * (-len(data) % 4))

for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in [""] + sorted(dirnames + filenames):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        st = os.lstat(path)
        if name and stat.S_ISDIR(st.st_mode):
            continue                    # written when os.walk enters it, before its contents
        if stat.S_ISLNK(st.st_mode):
            entry(rel, st.st_mode, os.readlink(path).encode())
        elif stat.S_ISREG(st.st_mode):
            entry(rel, st.st_mode, open(path, "rb").read())
        elif rel != ".":
            entry(rel, st.st_mode)
entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
entry("TRAILER!!!", 0)
out.close()
PY

# --- Boot. The guest prints PASS/FAIL lines and a final marker, then powers off; panic=-1 with
# -no-reboot makes qemu exit if init dies. loglevel=3 keeps kernel messages (OOM reports) from
# interleaving with the test output; the guest prints dmesg's tail itself when a test fails.
# No network device: the tests need none, and the firmware skips iPXE. A run takes about 30 s;
# the timeout only guards against a stuck guest.
log=$cache/console.log
echo "booting $(cat "$cache/kernel/version") with $runtime (TCG; console log in $log)"
vm_boot "VM tests" "$log" "VM-TESTS: ALL PASSED" 300 -m 1024 -smp 2 \
    -kernel "$cache/kernel/vmlinuz" -initrd "$cache/initrd.gz" \
    -append "console=ttyS0 panic=-1 loglevel=3" -nic none
