#!/bin/sh
# In the Debian guest (systemd, full cgroup v2): skiffd itself is the node's CRI runtime, driven by
# skiffctl as a kubelet would drive it: CNI bridge networking, the systemd cgroup driver (PID 1 is
# systemd), memory, CPU and pids limits enforced and reported, complete stats, AppArmor, a pod in
# its own user namespace, and containers that survive kill -9 of the daemon. Prints "PASS skiffd: <check>" or "FAIL skiffd: <check>: <why>".
#
# Usage (in the guest): skiffd-node.sh SHARE REGISTRY
#   SHARE     skiffd, skiff, skiff-monitor, skiffctl and the Swift libraries (lib/)
#   REGISTRY  host:port of the registry holding busybox (the host, seen from the guest)
set -u
share=$1 registry=$2
sock=/run/skiff/skiff.sock handler=skiff label=skiffd
. "$share/cri-lib.sh"
diagnose() {
    tail -n 8 /tmp/skiffd.log 2>/dev/null | sed 's/^/INFO skiffd: /'
    for f in /tmp/logs/*/*.log; do [ -s "$f" ] && tail -n 3 "$f" | sed "s|^|INFO $(basename "$f"): |"; done
}

setup() {
    for f in skiffd skiff skiff-monitor; do install -m 755 "$share/$f" /usr/local/bin/$f; done
    mkdir -p "/etc/skiff/certs.d/$registry" /etc/cni/net.d
    printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$registry" "$registry" \
        >"/etc/skiff/certs.d/$registry/hosts.toml"
    write_cni_config
    # Nothing about the cgroup driver: PID 1 is systemd, so skiffd picks systemd.
    printf 'version = 1\n[cni]\nbin_dirs = ["/usr/lib/cni"]\n' >/etc/skiff/config.toml
    start_skiffd
    ctl pull "$registry/busybox:latest" >/dev/null || { echo "FAIL setup: pull of $registry/busybox:latest"; diagnose; exit 1; }
}

stats_json() { ctl stats -o json --id "$1" 2>/dev/null; }
# The value of "key": {"value": "N"} in skiffctl's JSON (the line after the key).
value_of() { grep -A1 "\"$1\"" | sed -n 's/.*"value": "\([0-9]*\)".*/\1/p' | head -n1; }

check_network() {
    # A pod on the CNI bridge serves on its IP; its stats name the interface and count the bytes.
    if ids=$(run_pod web "echo hello-from-the-pod > /index.html; exec /bin/busybox httpd -f -p 8080 -h /"); then
        set -- $ids
        ip=$(ctl inspectp -o json "$1" | field ip)
        body=""
        # The guest has no HTTP client: busybox's nc from the share (its static wget crashes in
        # name-service code even for an address), speaking HTTP/1.0 by hand.
        for _ in $(seq 20); do
            body=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' | timeout 5 "$share/bundle/rootfs/bin/busybox" nc "$ip" 8080 2>/dev/null | tail -n 1)
            [ "$body" = hello-from-the-pod ] && break
            sleep 1
        done
        if [ "$body" = hello-from-the-pod ]; then pass "a pod serves on its pod IP ($ip) through the CNI bridge"; else fail "a pod serves on its pod IP" "ip '$ip', got '$body'"; fi
        podstats=$(ctl statsp -o json --id "$1" 2>/dev/null)
        rx=$(echo "$podstats" | value_of rxBytes)
        if echo "$podstats" | grep -q '"name": "eth0"' && [ "${rx:-0}" -gt 0 ]; then
            pass "pod stats: eth0 received $rx bytes"
        else
            fail "pod stats name eth0 with its traffic" "$(echo "$podstats" | head -c 600)"
        fi
        stats=$(stats_json "$2")
        ws=$(echo "$stats" | value_of workingSetBytes) usage=$(echo "$stats" | value_of usageBytes)
        if [ "${ws:-0}" -gt 0 ] && [ "${usage:-0}" -gt 0 ]; then pass "container stats: working set $ws, usage $usage"; else fail "container stats are complete" "$(echo "$stats" | head -c 600)"; fi
        remove_pod "$1"
    else
        fail "a pod serves on its pod IP" "runp/create/start failed"
    fi
}

check_oom() {
    if ids=$(run_pod hog "/bin/busybox sleep 1; exec /bin/busybox tail /dev/zero" 33554432); then
        set -- $ids
        if wait_state "$2" "CONTAINER_EXITED OOMKilled" 60; then pass "a container over its memory limit is OOMKilled (exit $(ctl inspect -o json "$2" | field exitCode))"
        else fail "a container over its memory limit is OOMKilled" "state $(state_of "$2")"; fi
        remove_pod "$1"
    else
        fail "a container over its memory limit is OOMKilled" "runp/create/start failed"
    fi
}

check_limits() {
    # CPU: a fifth of a core for a busy loop; pids: 16 at most, whatever the loop forks.
    # The forks run in a subshell: a shell that cannot fork gives up, and the container's own shell
    # must live on (the image's busybox has few applet links: no seq).
    script='(while :; do :; done) & (for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do /bin/busybox sleep 60 & done) 2>/dev/null; exec /bin/busybox sleep 3600'
    if ids=$(run_pod limits "$script" 0 '"cpu_quota": 20000, "cpu_period": 100000, "unified": {"pids.max": "16"}'); then
        set -- $ids
        sleep 4
        # Two ContainerStats samples; the share of a core is their CPU time over the time between
        # their own timestamps (a debug skiffctl under TCG takes seconds to start: the wall clock
        # around the calls would overstate it).
        a=$(stats_json "$2") ; sleep 5 ; b=$(stats_json "$2")
        cpu_a=$(echo "$a" | value_of usageCoreNanoSeconds) cpu_b=$(echo "$b" | value_of usageCoreNanoSeconds)
        at_a=$(echo "$a" | field timestamp) at_b=$(echo "$b" | field timestamp)
        span=$(( ${at_b:-0} - ${at_a:-0} )); [ "$span" -gt 0 ] || span=1
        used=$(( (${cpu_b:-0} - ${cpu_a:-0}) * 100 / span ))
        # Read from the host: at its limit the container has no room for an exec.
        pid=$(ctl inspect -o json "$2" | field pid)
        cgroup=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
        throttled=$(sed -n 's/^nr_throttled //p' "$cgroup/cpu.stat" 2>/dev/null)
        # 20 % asked; TCG's timers let CFS overrun its periods, so up to 40 % passes, with throttling seen.
        if [ "$used" -ge 5 ] && [ "$used" -le 40 ] && [ "${throttled:-0}" -gt 0 ]; then pass "cpu.max holds a busy loop to ${used}% of a core (throttled $throttled times)"
        else fail "cpu.max holds a busy loop to 20%" "${used}%, throttled ${throttled:-?} times; $cgroup: cpu.max $(cat "$cgroup/cpu.max" 2>&1)"; fi
        procs=$(cat "$cgroup/pids.current" 2>&1) events=$(cat "$cgroup/pids.events" 2>&1)
        case "$procs $events" in
            1[0-6]" max "[1-9]*) pass "pids.max holds the container to $procs processes ($events)" ;;
            *) fail "pids.max holds the container to 16" "pids.current $procs, $events" ;;
        esac
        remove_pod "$1"
    else
        fail "cpu and pids limits" "runp/create/start failed"
    fi
}

check_survival() {
    # kill -9 of skiffd: the container keeps running and logging; a new skiffd finds it running.
    if ids=$(run_pod survivor "while :; do echo tick; /bin/busybox sleep 1; done"); then
        set -- $ids
        pid=$(ctl inspect -o json "$2" | field pid)
        kill -9 "$skiffd_pid"
        sleep 3
        lines=$(wc -l <"/tmp/logs/survivor-skiff/survivor.log")
        if kill -0 "$pid" 2>/dev/null && [ "$lines" -ge 3 ]; then pass "kill -9 of skiffd: the container runs on and logs ($lines lines)"; else fail "the container outlives skiffd" "pid $pid, $lines log lines"; fi
        start_skiffd
        if [ "$(state_of "$2")" = "CONTAINER_RUNNING " ] && [ "$(ctl exec -s "$2" echo back)" = back ]; then pass "a restarted skiffd recovers the running container"
        else fail "a restarted skiffd recovers the running container" "state $(state_of "$2")"; fi
        remove_pod "$1"
    else
        fail "the container outlives skiffd" "runp/create/start failed"
    fi
}

check_apparmor() {
    # AppArmor enforced here: a container that asks for nothing runs under skiffd's default
    # profile (which refuses mounts); one naming a profile the node has not loaded is refused.
    if ids=$(run_pod armored "exec /bin/busybox sleep 3600"); then
        set -- $ids
        pid=$(ctl inspect -o json "$2" | field pid)
        profile=$(cat "/proc/$pid/attr/current" 2>&1)   # ($label names the runtime in PASS lines)
        if [ "$profile" = "skiff-default (enforce)" ]; then pass "AppArmor: a container gets skiffd's default profile ($profile)"
        else fail "AppArmor: a container gets the default profile" "attr/current: $profile"; fi
        sed -e 's/"linux": {/"linux": {"security_context": {"apparmor": {"profile_type": 2, "localhost_ref": "not-loaded"}}, /' \
            -e 's/"name": "armored"/"name": "unloaded"/' \
            /tmp/armored-ctr.json >/tmp/unloaded-ctr.json
        out=$(ctl create "$1" /tmp/unloaded-ctr.json /tmp/armored-pod.json 2>&1)
        case "$out" in
            *FailedPrecondition*not-loaded*) pass "AppArmor: an unloaded Localhost profile is refused at create" ;;
            *) fail "AppArmor: an unloaded Localhost profile is refused" "$out" ;;
        esac
        remove_pod "$1"
    else
        fail "AppArmor: a container gets the default profile" "runp/create/start failed"
    fi
}

check_userns() {
    # A pod in its own user namespace, as the kubelet asks for hostUsers: false: the pod's ids 0-65535
    # are the node's 200000-265535. Here / is a shared mount (systemd makes it so): the trees a
    # container gets from the node must not be its peers, or pivot_root refuses the root.
    map='[{"host_id": 200000, "container_id": 0, "length": 65536}]'
    if ids=$(userns_options="{\"mode\": 0, \"uids\": $map, \"gids\": $map}" run_pod userns "exec /bin/busybox sleep 3600"); then
        set -- $ids
        inside=$(ctl exec -s "$2" /bin/sh -c 'echo written >/new && echo $(/bin/busybox cat /proc/self/uid_map) $(/bin/busybox id -u) $(/bin/busybox stat -c %u /new)' 2>&1)
        pid=$(ctl inspect -o json "$2" | field pid)
        host_uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
        if [ "$(echo $inside)" = "0 200000 65536 0 0" ] && [ "$host_uid" = 200000 ]; then
            pass "a pod in its own user namespace: root inside is uid $host_uid on the node"
        else
            fail "a pod in its own user namespace" "inside: '$inside', uid on the node: $host_uid"
        fi
        remove_pod "$1"
    else
        fail "a pod in its own user namespace" "runp/create/start failed"
    fi
}

check_census() {
    # Nothing of the removed pods is left: mounts, scopes, network namespaces, monitors.
    left=$(grep -c -e /run/skiff/ns -e /var/lib/skiff/containers /proc/self/mountinfo)
    scopes=$(find /sys/fs/cgroup/kubepods.slice -name 'skiff-*.scope' 2>/dev/null | wc -l)
    monitors=$(pgrep -c skiff-monitor)
    if [ "$left" -eq 0 ] && [ "$scopes" -eq 0 ] && [ "$monitors" -eq 0 ]; then pass "nothing left after the pods went"
    else fail "nothing left after the pods went" "$left mounts, $scopes scopes, $monitors monitors"; fi
}

setup
for check in ${CHECKS:-network oom limits apparmor userns survival census}; do "check_$check"; done
kill "$skiffd_pid" 2>/dev/null
exit $failures
