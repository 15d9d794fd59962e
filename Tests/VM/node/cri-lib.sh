#!/bin/sh
# Shared by the node tests that drive a CRI runtime with skiffctl, as a kubelet would: the calls,
# the pod and container configs in the kubelet's shape, and PASS/FAIL lines. Sourced after $share,
# $registry and $sock are set; $handler names the runtime handler the checks run for; a script's
# own `diagnose` prints what helps after a failure.
failures=0
# Every call bounded: a hang is a failure with diagnostics, not a guest that never powers off.
ctl() { LD_LIBRARY_PATH=$share/lib timeout 90 "$share/skiffctl" --runtime-endpoint unix://$sock --image-endpoint unix://$sock --timeout 60s "$@"; }
# PASS/FAIL lines name $label (the runtime under test) when set, else the handler.
pass() { echo "PASS ${label:-$handler}: $1"; }
fail() {
    echo "FAIL ${label:-$handler}: $1: $2"
    failures=$((failures + 1))
    diagnose
}

# The node's pod network: Debian's bridge and portmap plugins on 10.88.0.0/16.
write_cni_config() {
    mkdir -p /etc/cni/net.d
    cat >/etc/cni/net.d/10-node.conflist <<'CNI'
{"cniVersion": "1.0.0", "name": "node", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
CNI
}

# pod_config NAME: a pod in the kubelet's shape (a cgroup parent that is a systemd slice); with
# $userns_options set (a CRI UserNamespace as JSON), in that user namespace.
pod_config() {
    userns=""
    [ -z "${userns_options:-}" ] || userns=", \"userns_options\": $userns_options"
    cat >"/tmp/$1-pod.json" <<EOF
{"metadata": {"name": "$1", "namespace": "node-test", "uid": "$1-$handler-uid", "attempt": 0},
 "hostname": "$1", "log_directory": "/tmp/logs/$1-$handler",
 "linux": {"cgroup_parent": "kubepods-besteffort-pod$(echo "$1$handler" | tr -cd 'a-z0-9').slice",
           "security_context": {"namespace_options": {"network": 0, "pid": 1$userns}}}}
EOF
    echo "/tmp/$1-pod.json"
}

# container_config NAME COMMAND [MEMORY_LIMIT [EXTRA_RESOURCES]]: a container of the busybox image,
# as CRI sends it (EXTRA_RESOURCES: more JSON members of linux.resources).
container_config() {
    memory=${3:-0}
    cat >"/tmp/$1-ctr.json" <<EOF
{"metadata": {"name": "$1"}, "image": {"image": "$registry/busybox:latest"},
 "command": ["/bin/sh", "-c", "$2"], "log_path": "$1.log",
 "linux": {"resources": {"cpu_shares": 2, "memory_limit_in_bytes": $memory${4:+, $4}}}}
EOF
    echo "/tmp/$1-ctr.json"
}

# run_pod NAME COMMAND [MEMORY [EXTRA_RESOURCES]]: prints "POD CONTAINER" once the container is started.
run_pod() {
    pod=$(ctl runp --runtime "$handler" "$(pod_config "$1")") || return 1
    # A pod whose container fails goes again, so that a census afterwards counts only leaks.
    ctr=$(ctl create "$pod" "$(container_config "$1" "$2" "${3:-0}" "${4:-}")" "/tmp/$1-pod.json") || { remove_pod "$pod"; return 1; }
    ctl start "$ctr" >/dev/null || { remove_pod "$pod"; return 1; }
    echo "$pod $ctr"
}

remove_pod() { ctl stopp "$1" >/dev/null 2>&1; ctl rmp "$1" >/dev/null 2>&1; }

# The first value of KEY in skiffctl's JSON (crictl's layout: one "key": value per line).
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n1; }
state_of() {
    json=$(ctl inspect -o json "$1" 2>/dev/null)
    echo "$(echo "$json" | field state) $(echo "$json" | field reason)"
}

wait_state() {  # CONTAINER WANT SECONDS
    for _ in $(seq "$3"); do
        case "$(state_of "$1")" in "$2"*) return 0 ;; esac
        sleep 1
    done
    return 1
}

wait_for() {  # SECONDS COMMAND...: until COMMAND succeeds, by the clock (a debug skiffctl under
    # TCG takes seconds per call, so counting tries would stretch the bound many times over)
    end=$(( $(date +%s) + $1 )); shift
    while [ "$(date +%s)" -lt "$end" ]; do "$@" && return 0; sleep 2; done
    return 1
}

# skiffd from the share as the guest's runtime ($skiffd_pid), up once it answers; a script ends
# when it does not.
start_skiffd() {
    LD_LIBRARY_PATH=$share/lib /usr/local/bin/skiffd --config /etc/skiff/config.toml >>/tmp/skiffd.log 2>&1 &
    skiffd_pid=$!
    for _ in $(seq 60); do ctl version >/dev/null 2>&1 && return 0; sleep 1; done
    fail "skiffd answers" "no answer on $sock"
    exit 1
}
