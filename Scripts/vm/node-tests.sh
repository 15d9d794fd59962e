#!/usr/bin/env bash
# The node tests: a booted Debian guest (systemd, full cgroup v2, AppArmor) runs Debian's containerd
# with `skiff` as a runtime handler beside runc, driven through CRI by skiffctl
# (Tests/VM/node/containerd-runtime.sh). Images come from a registry started here on loopback,
# which the guest reaches as 10.0.2.2.
#
# Then skiffd itself as the node's CRI runtime (Tests/VM/node/skiffd-node.sh), and, when KUBELET
# names a kubelet binary (v1.3x; not part of this project), a real kubelet in standalone mode on
# skiffd (Tests/VM/node/kubelet-node.sh); when DEB names a package (make deb), apt installs it and
# the package's life on the node is checked: its unit, an upgrade, remove and purge
# (Tests/VM/node/deb-node.sh).
#
# Usage: Scripts/vm/node-tests.sh BIN_DIR      (skiff, skiff-monitor, skiffd, skiffctl)
# Needs: root, qemu-system-x86, debootstrap, docker-registry, skopeo, python3.
set -euo pipefail
[[ $# -eq 1 && -x $1/skiff && -x $1/skiffctl && -x $1/skiffd && -x $1/skiff-monitor ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
bin=$(realpath "$1")
skiff=$bin/skiff skiffctl=$bin/skiffctl
cd "$(dirname "$0")/../.."
work=.build/vm/node
rm -rf "$work" && mkdir -p "$work/share/lib" "$work/images"
work=$(realpath "$work")

port=$((20000 + RANDOM % 20000))
Tests/Fixtures/images/registry.sh start "$work/registry" "$port" >/dev/null
trap 'Tests/Fixtures/images/registry.sh stop "$work/registry" >/dev/null 2>&1 || true' EXIT
python3 Tests/Fixtures/images/build-images.py "$work/images" busybox pause >/dev/null
Tests/Fixtures/images/push-images.sh "$work/images" "127.0.0.1:$port" >/dev/null

share=$work/share
install -m 755 "$skiff" "$share/skiff"
for f in skiffctl skiffd skiff-monitor; do install -m 755 "$bin/$f" "$share/$f"; done
# The libraries of skiffctl and skiffd the guest may lack: the Swift runtime (a debug build links it
# dynamically) and libarchive with its own; glibc's are the guest's (the same Debian release).
for lib in $(ldd "$skiffctl" "$bin/skiffd" | awk '$2 == "=>" {print $3}' | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | sort -u); do
    cp -L "$lib" "$share/lib/"
done
install -m 755 Tests/VM/node/*.sh "$share/"
[[ -z ${KUBELET:-} ]] || install -m 755 "$KUBELET" "$share/kubelet"
if [[ -n ${DEB:-} ]]; then
    install -m 644 "$DEB" "$share/"
    # The upgrade: the same package with a higher version, as a newer build would be.
    rm -rf "$work/repack" && dpkg-deb -R "$DEB" "$work/repack"
    version=$(sed -n 's/^Version: //p' "$work/repack/DEBIAN/control")+upgrade1
    sed -i "s/^Version: .*/Version: $version/" "$work/repack/DEBIAN/control"
    mkdir -p "$share/upgrade"
    # (gzip at its fastest: a test's package, not one to publish)
    dpkg-deb -Zgzip -z1 -b "$work/repack" "$share/upgrade/skiff_${version}_amd64.deb" >/dev/null
    rm -rf "$work/repack"
fi
# A bundle template for skiff used directly: busybox, and a config.json from `skiff spec` running sleep.
mkdir -p "$share/bundle/rootfs/bin"
cp /bin/busybox "$share/bundle/rootfs/bin/busybox"
ln -s busybox "$share/bundle/rootfs/bin/sleep"
(cd "$share/bundle" && "$skiff" spec)
python3 - "$share/bundle/config.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"].update(terminal=False, args=["/bin/sleep", "600"])
spec["root"]["readonly"] = False
json.dump(spec, open(sys.argv[1], "w"))
PY
cat >"$share/guest-main.sh" <<MAIN
#!/bin/sh
/bin/sh /mnt/share/systemd-driver.sh /mnt/share/skiff /mnt/share/bundle; driver=\$?
CHECKS="${CHECKS:-}" /bin/sh /mnt/share/containerd-runtime.sh /mnt/share 10.0.2.2:$port ${HANDLERS:-runc skiff}; containerd=\$?
# containerd goes first: skiffd uses the same CNI bridge after it.
systemctl stop containerd
CHECKS="${SKIFFD_CHECKS:-}" /bin/sh /mnt/share/skiffd-node.sh /mnt/share 10.0.2.2:$port; skiffd=\$?
# The kubelet's checks use skiffd's node setup (config, registry, CNI) from the script before.
CHECKS="${KUBELET_CHECKS:-}" /bin/sh /mnt/share/kubelet-node.sh /mnt/share 10.0.2.2:$port; kubelet=\$?
deb=0
if ls /mnt/share/skiff_*_amd64.deb >/dev/null 2>&1; then /bin/sh /mnt/share/deb-node.sh /mnt/share 10.0.2.2:$port; deb=\$?; fi
[ \$driver -eq 0 ] && [ \$containerd -eq 0 ] && [ \$skiffd -eq 0 ] && [ \$kubelet -eq 0 ] && [ \$deb -eq 0 ] && echo "NODE-TESTS: ALL PASSED"
MAIN
Scripts/vm/boot-guest.sh "$share" 1800
