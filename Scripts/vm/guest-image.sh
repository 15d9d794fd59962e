#!/usr/bin/env bash
# Builds the Debian 12 guest the node tests boot: systemd as PID 1, full cgroup v2, containerd,
# runc and the CNI plugins from Debian, AppArmor on (Debian's kernel enables it). The result is
# cached in .build/vm/guest/ (disk.img, vmlinuz, initrd.img) and rebuilt when this script changes.
#
# Usage: Scripts/vm/guest-image.sh            (prints the directory holding the image)
# Needs: root, debootstrap, e2fsprogs, and Debian's archive (the mirror apt already uses).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/vm/guest
stamp=$(sha256sum "$0" | cut -c1-16)
if [[ -f $out/disk.img && $(cat "$out/stamp" 2>/dev/null) == "$stamp" ]]; then
    echo "$out"
    exit 0
fi

# Debian's archive as this machine's apt sees it (deb822 or one-line sources), else the default.
mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}

packages=(
    systemd systemd-sysv dbus udev kmod       # the init system the unit and the systemd cgroup driver need
    linux-image-amd64                         # its kernel and initramfs boot the guest
    containerd runc containernetworking-plugins iproute2 iptables   # the reference node stack
    apparmor sudo                             # containerd gives every container its AppArmor profile; critest's AppArmor specs use sudo
    procps ca-certificates
    libarchive13 libseccomp2                  # the skiff package's dependencies: the guest is offline when it installs it
)
root=$out/rootfs
rm -rf "$out" && mkdir -p "$out"
echo "building the guest image from $mirror (about two minutes)" >&2
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 \
    || { tail -n 20 "$out/debootstrap.log" >&2; exit 1; }

# What a test never needs: documentation, translations, caches. Keeps the image small.
rm -rf "$root"/usr/share/{doc,man,info,locale} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*

echo skiff-node >"$root/etc/hostname"
# The node's own name resolves (sudo, which critest's AppArmor specs run, insists).
printf '127.0.0.1 localhost\n127.0.1.1 skiff-node\n' >"$root/etc/hosts"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
# The test talks to the host over qemu's user network (the host is 10.0.2.2 there).
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/10-wired.network"
# Nobody logs in: no getty on the serial console the tests print to.
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$root/etc/systemd/system/getty@tty1.service"

# The test: whatever the host put in the 9p share as guest-main.sh runs once the system is up,
# prints to the serial console, and powers the guest off when it ends (boot-guest.sh waits for that).
cat >"$root/etc/systemd/system/skiff-vm-test.service" <<'UNIT'
[Unit]
Description=Skiff node tests from the host's share
After=multi-user.target network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStartPre=/bin/mkdir -p /mnt/share
ExecStartPre=/bin/mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576 share /mnt/share
ExecStart=/bin/sh /mnt/share/guest-main.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
TimeoutStartSec=infinity
ExecStopPost=/bin/systemctl poweroff --no-block

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable -q systemd-networkd skiff-vm-test.service

cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
# An ext4 image made from the tree directly (no loop mount); each boot writes to a throw-away
# snapshot of it, so the image stays as built.
size=$(( $(du -sm "$root" | cut -f1) + 768 ))
mkfs.ext4 -q -F -L skiff-node -d "$root" "$out/disk.img" "${size}M" >/dev/null
rm -rf "$root"
echo "$stamp" >"$out/stamp"
echo "$out"
