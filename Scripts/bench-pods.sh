#!/usr/bin/env bash
# Pods through CRI: skiffd against containerd 1.6 + runc (Debian), both driven by the same client
# (skiffctl), each a private instance (Scripts/bench-lib.sh). Prints a Markdown section on stdout:
#   - one pod + one container, full lifecycle (runp, create, start, stopp, rmp), hyperfine medians;
#   - host memory each runtime keeps per running pod: the PSS of every process it runs for the pod
#     besides the container's own (skiff: the container's monitor; containerd: the shim and the
#     pause container), with N pods running, and the daemon's own growth;
#   - each daemon's RSS when idle;
#   - CPU for 1000 ExecSync probes (`exec -s`): the daemon's and its helpers' CPU time (the shim and
#     runc for containerd, the `skiff exec` children for skiffd), not the client's.
# Pods use the node's network (no CNI here: benchmarks make no bridges on the host).
#
#   bench-pods.sh SKIFFD SKIFFCTL
set -euo pipefail
cd "$(dirname "$0")/.."
skiffd=$1 skiffctl=$2
runs=${RUNS:-20} pods=${PODS:-10} probes=${PROBES:-300}
work=$(mktemp -d /tmp/skiff-bench-pods.XXXXXX)
port=$((20000 + RANDOM % 20000))
source Scripts/bench-lib.sh
trap bench_cleanup EXIT
bench_registry busybox pause
bench_start_daemons
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
idle_skiff=$(rss $skiff_pid) idle_ctrd=$(rss $ctrd_pid)

image=127.0.0.1:$port/busybox:latest
for rt in skiff ctrd; do $(client $rt) pull "$image" >/dev/null; done
$(client ctrd) pull "127.0.0.1:$port/pause:latest" >/dev/null

# pod.json NAME / ctr.json: a pod on the node's network, a container that sleeps.
pod_config() {
    printf '{"metadata": {"name": "%s", "namespace": "bench", "uid": "%s-uid"}, "log_directory": "%s/logs/%s",
 "linux": {"security_context": {"namespace_options": {"network": 2}}}}\n' "$1" "$1" "$work" "$1" >"$work/$1-pod.json"
    echo "$work/$1-pod.json"
}
printf '{"metadata": {"name": "app"}, "image": {"image": "%s"}, "command": ["/bin/sleep", "3600"], "log_path": "app.log"}\n' \
    "$image" >"$work/ctr.json"

for rt in skiff ctrd; do
    cat >"$work/cycle-$rt.sh" <<SH
#!/bin/bash
set -euo pipefail
pod=\$($(client $rt) runp $(pod_config cycle))
ctr=\$($(client $rt) create "\$pod" $work/ctr.json $work/cycle-pod.json)
$(client $rt) start "\$ctr" >/dev/null
$(client $rt) stopp "\$pod" >/dev/null
$(client $rt) rmp "\$pod" >/dev/null
SH
    chmod +x "$work/cycle-$rt.sh"
done
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/cycle.json" \
    -n skiffd "$work/cycle-skiff.sh" -n containerd "$work/cycle-ctrd.sh" >&2
# The client's share of those five calls: five `version` calls, the cheapest RPC.
for rt in skiff ctrd; do
    printf '#!/bin/bash\nfor _ in 1 2 3 4 5; do %s version >/dev/null; done\n' "$(client $rt)" >"$work/floor-$rt.sh"
    chmod +x "$work/floor-$rt.sh"
done
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/floor.json" \
    -n skiffd "$work/floor-skiff.sh" -n containerd "$work/floor-ctrd.sh" >&2

# The same lifecycle from one client process on one connection, as the kubelet drives a runtime:
# the runtimes' own time, without five client start-ups (Scripts/bench-cycle.py).
mkdir -p "$work/stubs"
sed 's/ \[debug_redact *= *true\]//g' Protos/api.proto >"$work/stubs/api.proto"   # an option older protoc lacks
(cd "$work/stubs" && /usr/bin/python3 -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. api.proto)
for rt in skiff ctrd; do
    sock=$(endpoint $rt); sock=${sock#unix://}
    /usr/bin/python3 Scripts/bench-cycle.py "$work/stubs" "$sock" "$image" "$work/logs/kubelet-$rt" "$runs" 3 >"$work/conn-$rt.json"
done

# N running pods on each: the processes each runtime keeps for them, as PSS.
pss_of() { local total=0 kb; for pid in "$@"; do kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0); total=$((total + ${kb:-0})); done; echo $total; }
daemon_before_skiff=$(rss $skiff_pid) daemon_before_ctrd=$(rss $ctrd_pid)
for rt in skiff ctrd; do
    for i in $(seq "$pods"); do
        pod=$($(client $rt) runp "$(pod_config "mem$i")")
        ctr=$($(client $rt) create "$pod" "$work/ctr.json" "$work/mem$i-pod.json")
        $(client $rt) start "$ctr" >/dev/null
    done
done
sleep 2
monitors=$(pgrep -f "skiff-monitor .*$work/skiff/" || true)
shims=$(pgrep -f "containerd-shim-runc-v2 .*-address $work/ctrd/" || true)
pauses=$(for s in $shims; do pgrep -P "$s" -f "sleep 2147483647" || true; done)   # the fixture pause image sleeps
pss_skiff=$(pss_of $monitors) pss_ctrd=$(pss_of $shims $pauses)
grow_skiff=$(( $(rss $skiff_pid) - daemon_before_skiff )) grow_ctrd=$(( $(rss $ctrd_pid) - daemon_before_ctrd ))
count_skiff=$(echo $monitors | wc -w) count_ctrd=$(echo $shims $pauses | wc -w)

# ExecSync probes on one running container of each: CPU of the daemon side, in clock ticks.
cpu_of() { local total=0; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat"))); done; echo $total; }
probe_skiff=$($(client skiff) ps -q | head -n1) probe_ctrd=$($(client ctrd) ps -q | head -n1)
for rt in skiff ctrd; do
    target=$([ $rt = skiff ] && echo "$probe_skiff" || echo "$probe_ctrd")
    helpers=$([ $rt = skiff ] && echo "$skiff_pid" || echo "$ctrd_pid $shims")
    before=$(cpu_of $helpers)
    start=$(date +%s%N)
    for _ in $(seq "$probes"); do $(client $rt) exec -s "$target" /bin/sleep 0 >/dev/null; done
    eval "wall_$rt=$(( ($(date +%s%N) - start) / 1000 ))"   # microseconds
    eval "cpu_$rt=$(( $(cpu_of $helpers) - before ))"
done

python3 - "$work/cycle.json" "$work/floor.json" "$work/conn-skiff.json" "$work/conn-ctrd.json" "$(containerd --version)" "$runs" "$pods" "$probes" "$(getconf CLK_TCK)" \
    "$pss_skiff" "$pss_ctrd" "$count_skiff" "$count_ctrd" "$grow_skiff" "$grow_ctrd" "$idle_skiff" "$idle_ctrd" \
    "$cpu_skiff" "$cpu_ctrd" "$wall_skiff" "$wall_ctrd" <<'PY'
import json, sys
(path, floor_path, conn_s, conn_c, version, runs, pods, probes, tck, pss_s, pss_c, n_s, n_c, grow_s, grow_c, idle_s, idle_c,
 cpu_s, cpu_c, wall_s, wall_c) = sys.argv[1:]
pods, probes, tck = int(pods), int(probes), int(tck)
m = {r["command"]: r["median"] * 1000 for r in json.load(open(path))["results"]}
f = {r["command"]: r["median"] * 1000 for r in json.load(open(floor_path))["results"]}
net = {k: m[k] - f[k] for k in m}
def median(path):
    times = sorted(json.load(open(path))["times_ms"])
    return times[len(times) // 2]
one_s, one_c = median(conn_s), median(conn_c)
mib = lambda kb: int(kb) / 1024
per1000 = lambda ticks: int(ticks) / tck * 1000 / probes
print("## Pods through CRI\n")
print(f"skiffd and {version} with runc, private instances, driven by the same client (`skiffctl`); pods on the")
print("node's network (no CNI on the benchmark host), one busybox container sleeping in each.\n")
print("| what | skiffd | containerd | skiffd / containerd |")
print("|---|---|---|---|")
print(f"| one pod + one container: runp, create, start, stopp, rmp (hyperfine median of {runs}) | {m['skiffd']:.0f} ms | {m['containerd']:.0f} ms | {m['skiffd'] / m['containerd']:.2f} |")
print(f"| the same less the client's floor (five `version` calls: {f['skiffd']:.0f} / {f['containerd']:.0f} ms) | {net['skiffd']:.0f} ms | {net['containerd']:.0f} ms | {net['skiffd'] / net['containerd']:.2f} |")
print(f"| the same five calls from one client process on one connection, as the kubelet (median of {runs}) | {one_s:.0f} ms | {one_c:.0f} ms | {one_s / one_c:.2f} |")
print(f"| memory kept per running pod, PSS of the processes the runtime runs for it ({pods} pods) | {mib(pss_s) / pods:.2f} MiB | {mib(pss_c) / pods:.2f} MiB | {int(pss_s) / max(1, int(pss_c)):.2f} |")
print(f"| daemon RSS growth with those {pods} pods | {mib(grow_s):.1f} MiB | {mib(grow_c):.1f} MiB | |")
print(f"| daemon RSS when idle (after start) | {mib(idle_s):.1f} MiB | {mib(idle_c):.1f} MiB | {int(idle_s) / int(idle_c):.2f} |")
print(f"| CPU for 1000 ExecSync probes (daemon + its helpers; {probes} timed) | {per1000(cpu_s):.1f} s | {per1000(cpu_c):.1f} s | {int(cpu_s) / max(1, int(cpu_c)):.2f} |")
print(f"| wall time of one probe, client included | {int(wall_s) / probes / 1000:.0f} ms | {int(wall_c) / probes / 1000:.0f} ms | |")
print(f"\nProcesses kept for the {pods} pods: skiffd {n_s} (one `skiff-monitor` per container, no pause process),")
print(f"containerd {n_c} (a shim per pod and its pause container). The first lifecycle row is five `skiffctl`")
print("runs, the same five for both, so the client's start-ups are in both figures; the third is the")
print("kubelet's way (Scripts/bench-cycle.py: one process, one connection, Debian's python3-grpcio), which")
print("leaves the runtimes' own time.\n")
print("Targets (issue: pods and containers through CRI): the lifecycle at most 0.33× containerd's; under 2 MB")
print("kept per running pod; an idle skiffd smaller than containerd; less CPU per ExecSync probe.")
PY
