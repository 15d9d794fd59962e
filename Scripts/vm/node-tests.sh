#!/usr/bin/env bash
# The node tests: a booted Debian guest (systemd, full cgroup v2, AppArmor) runs Debian's containerd
# with `skiff` as a runtime handler beside runc, driven through CRI by skiffctl
# (Tests/VM/node/containerd-runtime.sh). Images come from a registry started here on loopback,
# which the guest reaches as 10.0.2.2.
#
# Usage: Scripts/vm/node-tests.sh SKIFF SKIFFCTL
# Needs: root, qemu-system-x86, debootstrap, docker-registry, skopeo, python3.
set -euo pipefail
[[ $# -eq 2 && -x $1 && -x $2 ]] || { echo "usage: $0 SKIFF SKIFFCTL" >&2; exit 2; }
skiff=$(realpath "$1") skiffctl=$(realpath "$2")
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
install -m 755 "$skiffctl" "$share/skiffctl"
# skiffctl's Swift libraries: the guest has none (a debug build links them dynamically).
for lib in $(ldd "$skiffctl" | grep -o '/[^ ]*' | grep -E 'swift|Foundation|dispatch|BlocksRuntime'); do
    cp -L "$lib" "$share/lib/"
done
install -m 755 Tests/VM/node/*.sh "$share/"
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
CHECKS="${CHECKS:-}" /bin/sh /mnt/share/containerd-runtime.sh /mnt/share 10.0.2.2:$port ${HANDLERS:-runc skiff} && [ \$driver -eq 0 ] && echo "NODE-TESTS: ALL PASSED"
MAIN
Scripts/vm/boot-guest.sh "$share" 1200
