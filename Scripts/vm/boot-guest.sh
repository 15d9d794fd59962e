#!/usr/bin/env bash
# Boots the Debian guest (Scripts/vm/guest-image.sh) with SHARE as its 9p share, runs the share's
# guest-main.sh there (systemd starts it once the system is up) and waits for the guest to power
# off. Prints the guest's PASS/FAIL lines; exits 0 only if the guest printed "NODE-TESTS: ALL PASSED".
#
# Usage: Scripts/vm/boot-guest.sh SHARE_DIR [TIMEOUT_SECONDS]
# The guest reaches the host as 10.0.2.2 (qemu's user network); writes to its disk are thrown away.
set -euo pipefail
share=$(realpath "$1")
limit=${2:-900}
cd "$(dirname "$0")/../.."
source Scripts/vm/qemu-boot.sh
guest=$(Scripts/vm/guest-image.sh | tail -n1)
log=$share/console.log
echo "booting the Debian guest (TCG; console log in $log)"
vm_boot "node tests" "$log" "NODE-TESTS: ALL PASSED" "$limit" -m 2048 -smp 2 \
    -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=0 panic=-1" \
    -drive "file=$guest/disk.img,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$share,mount_tag=share,security_model=none,id=share" \
    -nic user,model=virtio-net-pci
