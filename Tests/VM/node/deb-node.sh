#!/bin/sh
# In the Debian guest (systemd as PID 1): the package's life on a node. apt-get installs the .deb,
# systemd starts skiff.service, skiffctl (from the package) runs a pod that serves on its pod IP,
# and the container survives `systemctl restart skiff`, kill -9 of skiffd (the unit's
# Restart=always brings it back), a reinstall and an upgrade to a newer build. `apt-get remove`
# stops and removes the pod but keeps config and images; `dpkg --purge` leaves nothing behind.
# Prints "PASS deb: <check>" or "FAIL deb: <check>: <why>".
#
# Usage (in the guest): deb-node.sh SHARE REGISTRY
#   SHARE     skiff_*.deb, upgrade/skiff_*.deb (the same with a higher version), busybox for nc
#   REGISTRY  host:port of the registry holding busybox
set -u
share=$1 registry=$2
sock=/run/skiff/skiff.sock handler=skiff label=deb
. "$share/cri-lib.sh"
# The package's skiffctl, not the share's.
ctl() { timeout 90 /usr/bin/skiffctl --timeout 60s "$@"; }
diagnose() { journalctl -u skiff -n 8 --no-pager 2>/dev/null | sed 's/^/INFO journal: /'; }

main_pid() { systemctl show -p MainPID --value skiff; }
apt() { DEBIAN_FRONTEND=noninteractive apt-get -y "$@" >/tmp/apt.log 2>&1 || { grep -E "^(E|W):" /tmp/apt.log | tail -n 4; return 1; }; }
veths() { ip -o link show type veth | wc -l; }

upgrade() {  # CONTAINER: a newer build restarts skiffd, which recovers the running container
    newer=$(ls "$share"/upgrade/skiff_*_amd64.deb 2>/dev/null | head -n1)
    [ -n "$newer" ] || { fail "an upgrade keeps the container" "no upgrade/skiff_*.deb in the share"; return; }
    before=$(main_pid)
    if out=$(apt install "$newer"); then
        version=$(dpkg-query -W -f '${Version}' skiff)
        [ "$(main_pid)" != "$before" ] || fail "an upgrade restarts skiffd" "MainPID still $before"
        survives "an upgrade to $version" "$1"
    else
        fail "an upgrade with apt-get install" "$out"
    fi
}

# Where anything of a pod could be left: mounts below Skiff's directories, scopes, monitors, veths
# (beyond those before the pod), the pod's address in host-local's store.
leftovers() {  # POD
    mounts=$(grep -c -e /run/skiff -e /var/lib/skiff /proc/self/mountinfo)
    scopes=$(find /sys/fs/cgroup -name 'skiff-*.scope' 2>/dev/null | wc -l)
    monitors=$(pgrep -c skiff-monitor)
    addresses=$(grep -rl "$1" /var/lib/cni/networks 2>/dev/null | wc -l)
    extra=$(( $(veths) - veths_before ))
    [ "$mounts$scopes$monitors$addresses$extra" = 00000 ] && return 0
    echo "$mounts mounts, $scopes scopes, $monitors monitors, $addresses addresses, $extra veths"
    return 1
}

remove_and_purge() {  # POD PID
    if out=$(apt remove skiff); then pass "apt-get remove"; else fail "apt-get remove" "$out"; return; fi
    if kill -0 "$2" 2>/dev/null; then fail "remove stops the container" "pid $2 still runs"
    elif left=$(leftovers "$1"); then pass "remove stopped and removed the pod: no mounts, scopes, monitors, veths or addresses left"
    else fail "remove leaves nothing running" "$left"; fi
    if [ -f /etc/skiff/config.toml ] && [ -d /var/lib/skiff ] && ! systemctl is-active -q skiff; then
        pass "remove keeps config and state ($(du -sh /var/lib/skiff | cut -f1) in /var/lib/skiff), the unit stopped"
    else
        fail "remove keeps config and state" "$(ls -d /etc/skiff/config.toml /var/lib/skiff 2>&1 | tr '\n' ' ')"
    fi
    if out=$(dpkg --purge skiff 2>&1); then pass "dpkg --purge"; else fail "dpkg --purge" "$(echo "$out" | tail -n 3)"; return; fi
    gone=$(ls -d /etc/skiff /var/lib/skiff /run/skiff /usr/bin/skiffd 2>/dev/null | tr '\n' ' ')
    if [ -z "$gone" ] && left=$(leftovers "$1"); then pass "purge leaves no mounts, cgroups, network namespaces, config or state"
    else fail "purge leaves nothing" "still there: $gone ${left:-}"; fi
}
answers() { ctl info >/dev/null 2>&1; }
wait_ready() { wait_for 90 answers; }

# The earlier scripts' skiffd, its binaries and configuration go: the package brings its own.
for _ in $(seq 30); do pgrep -x skiffd >/dev/null || break; sleep 1; done
rm -rf /etc/skiff /usr/local/bin/skiffd /usr/local/bin/skiff /usr/local/bin/skiff-monitor
deb=$(ls "$share"/skiff_*_amd64.deb | head -n1)
# The guest is offline: the package's dependencies are in its image, and apt checks them.
if out=$(apt install "$deb"); then pass "apt-get install ./$(basename "$deb")"
else fail "apt-get install of the package" "$out"; exit 1; fi

if [ "$(systemctl is-active skiff)" = active ] && wait_ready && ctl info | grep -q '"RuntimeReady"'; then
    pass "skiff.service is active after install and skiffctl info answers ($(ctl version | grep RuntimeVersion))"
else
    fail "skiff.service is active" "$(systemctl status skiff --no-pager 2>&1 | head -n 5)"
    exit 1
fi
mkdir -p "/etc/skiff/certs.d/$registry"
printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$registry" "$registry" \
    >"/etc/skiff/certs.d/$registry/hosts.toml"
if ctl pull "$registry/busybox:latest" >/dev/null 2>&1; then pass "skiffctl pull through the package's daemon"; else fail "pull" "$registry/busybox:latest"; fi

veths_before=$(veths)
if ids=$(run_pod debweb "echo served-by-the-package > /index.html; exec /bin/busybox httpd -f -p 8080 -h /"); then
    set -- $ids
    ip=$(ctl inspectp -o json "$1" | field ip)
    pid=$(ctl inspect -o json "$2" | field pid)
    get() { printf 'GET /index.html HTTP/1.0\r\n\r\n' | timeout 5 "$share/bundle/rootfs/bin/busybox" nc "$ip" 8080 2>/dev/null | tail -n 1; }
    if [ "$(get)" = served-by-the-package ]; then pass "a pod serves on its pod IP ($ip)"; else fail "a pod serves on its pod IP" "ip '$ip'"; fi
    survives() {  # WHAT: the same process still runs and serves, and the new daemon has it running
        if kill -0 "$pid" 2>/dev/null && wait_ready && [ "$(state_of "$2")" = "CONTAINER_RUNNING " ] && [ "$(get)" = served-by-the-package ]; then
            pass "$1: the container runs on and is recovered (pid $pid)"
        else
            fail "$1 keeps the container" "pid $pid alive: $(kill -0 "$pid" 2>/dev/null && echo yes || echo no), state $(state_of "$2")"
        fi
    }
    systemctl restart skiff
    survives "systemctl restart skiff" "$2"
    before=$(main_pid)
    kill -9 "$before"
    sleep 5
    [ "$(main_pid)" != "$before" ] && [ "$(main_pid)" != 0 ] || fail "Restart=always brings skiffd back" "MainPID $(main_pid)"
    survives "kill -9 of skiffd (systemd restarts it)" "$2"
    out=$(apt install --reinstall "$deb") || fail "reinstall" "$out"
    survives "a reinstall of the package (the unit restarted by its scripts)" "$2"
    upgrade "$2"
    remove_and_purge "$1" "$pid"
else
    fail "a pod serves on its pod IP" "runp/create/start failed"
fi
exit $failures
