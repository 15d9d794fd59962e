#!/bin/sh
# In the Debian guest (systemd, full cgroup v2): a real kubelet in standalone mode (static pods from
# a manifest directory, no API server) drives skiffd unchanged. Its pods use HTTP and exec probes,
# limits, a securityContext and restart policies; they keep running across kill -9 of skiffd.
# Prints "PASS kubelet: <check>" or "FAIL kubelet: <check>: <why>".
#
# Usage (in the guest): kubelet-node.sh SHARE REGISTRY
#   SHARE     kubelet (any v1.3x binary), skiffd, skiff, skiff-monitor, skiffctl, lib/
#   REGISTRY  host:port of the registry holding busybox
set -u
share=$1 registry=$2
sock=/run/skiff/skiff.sock handler=skiff label=kubelet
. "$share/cri-lib.sh"
diagnose() {
    tail -n 6 /tmp/kubelet.log 2>/dev/null | cut -c1-300 | sed 's/^/INFO kubelet: /'
    tail -n 4 /tmp/skiffd.log 2>/dev/null | sed 's/^/INFO skiffd: /'
}

manifests() {
    mkdir -p /etc/kubernetes/manifests /var/lib/kubelet
    # web: HTTP readiness (httpd -vv logs each request's path), an exec liveness probe that counts
    # its calls, limits, a non-root user without capabilities, an emptyDir. The probes' timeouts
    # allow for the emulated guest (a debug build under TCG takes over a second per exec).
    cat >/etc/kubernetes/manifests/web.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  restartPolicy: Always
  securityContext: {runAsUser: 1000, runAsGroup: 1000}
  volumes: [{name: www, emptyDir: {}}]
  containers:
  - name: httpd
    image: $registry/busybox:latest
    command: ["/bin/sh", "-c", "echo ok > /www/index.html; exec /bin/busybox httpd -f -vv -p 8080 -h /www"]
    volumeMounts: [{name: www, mountPath: /www}]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m, memory: 64Mi}}
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 3, timeoutSeconds: 10}
    livenessProbe: {exec: {command: ["/bin/sh", "-c", "echo probe >> /www/probes"]}, periodSeconds: 5, timeoutSeconds: 30}
EOF
    # crash: exits 3 after a second; restartPolicy Always has the kubelet start it again.
    cat >/etc/kubernetes/manifests/crash.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: default}
spec:
  restartPolicy: Always
  containers:
  - name: crash
    image: $registry/busybox:latest
    command: ["/bin/sh", "-c", "echo starting; /bin/busybox sleep 1; exit 3"]
EOF
    cat >/var/lib/kubelet/config.yaml <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: /etc/kubernetes/manifests
fileCheckFrequency: 5s
containerRuntimeEndpoint: unix://$sock
address: 127.0.0.1
readOnlyPort: 10255
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
failSwapOn: false
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
}

start_kubelet() {
    "$share/kubelet" --config /var/lib/kubelet/config.yaml --v=2 >/tmp/kubelet.log 2>&1 &
    kubelet_pid=$!
    echo "INFO kubelet: $("$share/kubelet" --version) started"
}

# The running container of the pod named $1 (the kubelet names static pods NAME-<node>).
container_of() { ctl ps --name "^$1\$" -q 2>/dev/null | head -n1; }
attempt_of() { ctl inspect -o json "$1" 2>/dev/null | field attempt; }
pod_log() { cat /var/log/pods/default_"$1"-*/"$2"/*.log 2>/dev/null; }

web_ready() { web=$(container_of httpd) && [ -n "$web" ] && pod_log web httpd | grep -q 'url:/index.html'; }
crash_restarted() { [ "$(ctl ps -a --name '^crash$' -q 2>/dev/null | wc -l)" -ge 1 ] && a=$(ctl ps -a --name '^crash$' -o json 2>/dev/null | field attempt | sort -n | tail -n1) && [ "${a:-0}" -ge 2 ]; }

check_pods() {
    if wait_for 240 web_ready; then
        gets=$(pod_log web httpd | grep -c 'url:/index.html')
        pass "the kubelet's HTTP readiness probe reaches the pod's httpd through the CNI bridge ($gets requests)"
    else
        fail "the kubelet runs the web pod and probes it" "container '$(container_of httpd)'; $(ctl ps -a 2>&1 | tail -n 3); $(ctl pods 2>&1 | tail -n 3)"
        grep -E ' E[0-9]{4} ' /tmp/kubelet.log | tail -n 5 | cut -c1-400 | sed 's/^/INFO kubelet error: /' 
        return
    fi
    sleep 7
    probes=$(ctl exec -s "$web" /bin/sh -c 'cat /www/probes' 2>/dev/null | grep -c probe)
    if [ "${probes:-0}" -ge 2 ]; then pass "the exec liveness probe runs in the container ($probes calls)"; else fail "the exec liveness probe runs" "$probes calls"; fi
    pid=$(ctl inspect -o json "$web" | field pid)
    cgroup=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    mem=$(cat "$cgroup/memory.max") cpu=$(cat "$cgroup/cpu.max")
    if [ "$mem" = 67108864 ] && [ "$cpu" = "20000 100000" ]; then pass "limits reach the container's cgroup (memory.max $mem, cpu.max $cpu, in ${cgroup#/sys/fs/cgroup})"
    else fail "limits reach the container's cgroup" "memory.max $mem, cpu.max $cpu in $cgroup"; fi
    ids=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status") caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")
    nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$pid/status")
    if [ "$ids" = 1000 ] && [ "$caps" = 0000000000000000 ] && [ "$nnp" = 1 ]; then pass "the securityContext holds: uid 1000, no capabilities, no_new_privs"
    else fail "the securityContext holds" "uid $ids, CapEff $caps, NoNewPrivs $nnp"; fi
    if wait_for 150 crash_restarted; then pass "restartPolicy Always: the kubelet restarted the crashing container (attempt $a)"
    else fail "the kubelet restarts a crashing container" "$(ctl ps -a --name '^crash$' 2>&1 | tail -n 3)"; fi
}

check_survival() {
    web=$(container_of httpd)
    pid=$(ctl inspect -o json "$web" | field pid)
    before=$(attempt_of "$web")
    kill -9 "$skiffd_pid"
    sleep 10
    if kill -0 "$pid" 2>/dev/null; then pass "kill -9 of skiffd under the kubelet: the web container runs on"; else fail "the web container outlives skiffd" "pid $pid gone"; fi
    start_skiffd
    gets=$(pod_log web httpd | grep -c 'url:/index.html')
    sleep 20
    now=$(container_of httpd) after=$(pod_log web httpd | grep -c 'url:/index.html')
    if [ "$now" = "$web" ] && [ "$(attempt_of "$now")" = "$before" ] && [ "$after" -gt "$gets" ]; then
        pass "a restarted skiffd: the kubelet keeps the same container (attempt $before) and probes it again ($gets → $after)"
    else
        fail "the kubelet keeps the recovered container" "was $web (attempt $before), now '$now' (attempt $(attempt_of "$now")), probes $gets → $after"
    fi
}

no_ready_pods() { [ -z "$(ctl pods -q --state ready 2>/dev/null)" ]; }

check_teardown() {
    # Manifests gone: the kubelet stops and removes the pods through CRI.
    rm -f /etc/kubernetes/manifests/*.yaml
    if wait_for 120 no_ready_pods; then
        pass "removed manifests: the kubelet stopped the pods through skiffd"
    else
        fail "the kubelet stops removed pods" "$(ctl pods 2>&1 | tail -n 3)"
    fi
}

[ -x "$share/kubelet" ] || { echo "INFO kubelet: no kubelet binary in the share; checks skipped"; exit 0; }
# skiffd-node.sh stopped its daemon: wait until it is gone, then start this script's own.
for _ in $(seq 30); do pgrep -x skiffd >/dev/null || break; sleep 1; done
start_skiffd
manifests
start_kubelet
for check in ${CHECKS:-pods survival teardown}; do "check_$check"; done
kill "$kubelet_pid" 2>/dev/null
wait "$kubelet_pid" 2>/dev/null
for p in $(ctl pods -q 2>/dev/null); do remove_pod "$p"; done
kill "$skiffd_pid" 2>/dev/null
exit $failures
