#!/bin/sh
# In the Debian guest: skiff's systemd cgroup driver used directly, as containerd's shim uses it
# when pods' parents are slices. Prints PASS/FAIL lines like containerd-runtime.sh.
#
# Usage (in the guest): systemd-driver.sh SKIFF BUNDLE_TEMPLATE
#   BUNDLE_TEMPLATE  a directory with rootfs/ (busybox) and config.json running `sleep`
set -u
skiff=$1 template=$2
root=/run/skiff-driver-test
failures=0
pass() { echo "PASS skiff --systemd-cgroup: $1"; }
fail() { echo "FAIL skiff --systemd-cgroup: $1: $2"; failures=$((failures + 1)); }

# Twelve creates at once: every one gets its scope, promptly. (Through systemd's private socket
# they were once answered one per 30 s; the driver now talks to the system bus, as runc does.)
for i in $(seq 1 12); do
    mkdir -p /tmp/bundle$i
    cp -a "$template/rootfs" /tmp/bundle$i/
    sed "s|\"linux\": {|\"linux\": {\"cgroupsPath\": \"skifftest.slice:drv:c$i\", |" "$template/config.json" >/tmp/bundle$i/config.json
done
start=$(date +%s)
for i in $(seq 1 12); do
    ("$skiff" --systemd-cgroup --root $root run -d --bundle /tmp/bundle$i c$i >/dev/null 2>/tmp/create$i.err; echo $? >/tmp/create$i.status) &
done
wait
took=$(($(date +%s) - start))
bad=0
for i in $(seq 1 12); do
    [ "$(cat /tmp/create$i.status)" = 0 ] || { bad=$((bad + 1)); echo "INFO c$i: $(cat /tmp/create$i.err)"; }
done
if [ $bad -eq 0 ] && [ $took -lt 60 ]; then pass "twelve concurrent creates get their scopes ($took s)"
else fail "twelve concurrent creates get their scopes" "$bad failed, $took s"; fi

scope=/sys/fs/cgroup/skifftest.slice/drv-c1.scope
if systemctl is-active -q drv-c1.scope && [ -n "$(cat $scope/cgroup.procs 2>/dev/null)" ]; then
    pass "the init runs in the scope $scope"
else
    fail "the init runs in the scope" "$(systemctl is-active drv-c1.scope) $(ls $scope 2>&1 | head -1)"
fi

# delete stops the scope, and systemd removes its cgroup.
for i in $(seq 1 12); do "$skiff" --systemd-cgroup --root $root delete -f c$i 2>/dev/null; done
sleep 1
left=$(systemctl list-units --type=scope --no-legend 'drv-*' 2>/dev/null | wc -l)
if [ "$left" -eq 0 ] && [ ! -d $scope ]; then pass "delete stops the scopes"; else fail "delete stops the scopes" "$left left"; fi
exit $failures
