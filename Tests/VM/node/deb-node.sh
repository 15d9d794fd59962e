#!/bin/sh
# In the Debian guest (systemd as PID 1): the package as an operator installs it. apt-get installs
# the .deb, systemd starts skiff.service, skiffctl (from the package) runs a pod that serves on its
# pod IP, and the container survives `systemctl restart skiff`, kill -9 of skiffd (the unit's
# Restart=always brings it back) and a reinstall of the package. Prints "PASS deb: <check>" or
# "FAIL deb: <check>: <why>".
#
# Usage (in the guest): deb-node.sh SHARE REGISTRY
#   SHARE     skiff_*.deb, busybox for nc, lib/ (unused here: the package brings its own runtime)
#   REGISTRY  host:port of the registry holding busybox
set -u
share=$1 registry=$2
sock=/run/skiff/skiff.sock handler=skiff label=deb
. "$share/cri-lib.sh"
# The package's skiffctl, not the share's.
ctl() { timeout 90 /usr/bin/skiffctl --timeout 60s "$@"; }
diagnose() { journalctl -u skiff -n 8 --no-pager 2>/dev/null | sed 's/^/INFO journal: /'; }

main_pid() { systemctl show -p MainPID --value skiff; }
answers() { ctl info >/dev/null 2>&1; }
wait_ready() { wait_for 90 answers; }

# The earlier scripts' skiffd, its binaries and configuration go: the package brings its own.
for _ in $(seq 30); do pgrep -x skiffd >/dev/null || break; sleep 1; done
rm -rf /etc/skiff /usr/local/bin/skiffd /usr/local/bin/skiff /usr/local/bin/skiff-monitor
deb=$(ls "$share"/skiff_*_amd64.deb | head -n1)
# The guest is offline: the package's dependencies are in its image, and apt checks them.
if out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" 2>&1); then pass "apt-get install ./$(basename "$deb")"
else fail "apt-get install of the package" "$(echo "$out" | grep -E "^(E|W):" | tail -n 4)"; exit 1; fi

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
    DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$deb" >/dev/null 2>&1 || fail "reinstall" "apt-get failed"
    survives "a reinstall of the package (the unit restarted by its scripts)" "$2"
    remove_pod "$1"
else
    fail "a pod serves on its pod IP" "runp/create/start failed"
fi
exit $failures
