#!/usr/bin/env bash
# Streaming through CRI: skiffd against containerd 1.6 + runc (Debian), both driven by the same
# client (skiffctl, over SPDY/3.1: the protocol the kubelet's proxy speaks, and the only one
# containerd 1.6 serves). Prints a Markdown section on stdout:
#   - exec round trip: `skiffctl exec CONTAINER /bin/true` to its exit (Exec RPC, upgrade, the
#     process, the status), hyperfine median;
#   - port-forward throughput: 64 MiB from busybox httpd in the pod through `skiffctl port-forward`,
#     read by curl, median of the runs.
#
#   bench-stream.sh SKIFFD SKIFFCTL
set -euo pipefail
cd "$(dirname "$0")/.."
skiffd=$1 skiffctl=$2
runs=${RUNS:-20} transfers=${TRANSFERS:-5}
work=$(mktemp -d /tmp/skiff-bench-stream.XXXXXX)
port=$((20000 + RANDOM % 20000))
source Scripts/bench-lib.sh
trap 'kill $(cat "$work"/forward-*.pid 2>/dev/null) 2>/dev/null || true; bench_cleanup' EXIT
bench_registry busybox pause
bench_start_daemons
image=127.0.0.1:$port/busybox:latest
$(client ctrd) pull "127.0.0.1:$port/pause:latest" >/dev/null

declare -A container pod served
for rt in skiff ctrd; do
    $(client $rt) pull "$image" >/dev/null
    if [ "$rt" = skiff ]; then served[$rt]=$((port + 1)); else served[$rt]=$((port + 2)); fi
    printf '{"metadata": {"name": "stream", "namespace": "bench", "uid": "stream-uid"}, "log_directory": "%s/logs/%s",
 "linux": {"security_context": {"namespace_options": {"network": 2}}}}\n' "$work" "$rt" >"$work/$rt-pod.json"
    printf '{"metadata": {"name": "web"}, "image": {"image": "%s"}, "log_path": "web.log", "command": ["/bin/sh", "-c",
 "mkdir /srv && dd if=/dev/zero of=/srv/big bs=1M count=64 2>/dev/null && exec httpd -f -p 127.0.0.1:%s -h /srv"]}\n' \
        "$image" "${served[$rt]}" >"$work/$rt-ctr.json"
    pod[$rt]=$($(client $rt) runp "$work/$rt-pod.json")
    container[$rt]=$($(client $rt) create "${pod[$rt]}" "$work/$rt-ctr.json" "$work/$rt-pod.json")
    $(client $rt) start "${container[$rt]}" >/dev/null
done

hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/exec.json" \
    -n skiffd "$(client skiff) exec -e spdy ${container[skiff]} /bin/true" \
    -n containerd "$(client ctrd) exec -e spdy ${container[ctrd]} /bin/true" >&2

# Each runtime's forward, then curl's download speed (bytes/s) for each transfer.
for rt in skiff ctrd; do
    $(client $rt) port-forward -e spdy "${pod[$rt]}" "0:${served[$rt]}" >"$work/forward-$rt.out" 2>&1 &
    echo $! >"$work/forward-$rt.pid"
    for _ in $(seq 100); do grep -qs Forwarding "$work/forward-$rt.out" && break; sleep 0.1; done
    local_port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$work/forward-$rt.out")
    for _ in $(seq 100); do curl -s -o /dev/null -m 2 "http://127.0.0.1:$local_port/big" && break; sleep 0.2; done
    for _ in $(seq "$transfers"); do
        curl -s -o /dev/null -m 120 -w '%{speed_download}\n' "http://127.0.0.1:$local_port/big"
    done >"$work/speed-$rt.txt"
    kill "$(cat "$work/forward-$rt.pid")"
done

python3 - "$work/exec.json" "$work/speed-skiff.txt" "$work/speed-ctrd.txt" "$(containerd --version)" "$runs" "$transfers" <<'PY'
import json, sys
path, speed_s, speed_c, version, runs, transfers = sys.argv[1:]
m = {r["command"]: r["median"] * 1000 for r in json.load(open(path))["results"]}
def median_mib(path):
    values = sorted(float(line) for line in open(path) if line.strip())
    return values[len(values) // 2] / (1 << 20)
s, c = median_mib(speed_s), median_mib(speed_c)
print("## Streaming\n")
print(f"skiffd and {version} with runc, the same client (`skiffctl`, SPDY/3.1) for both; pods on the node's network.\n")
print("| what | skiffd | containerd | skiffd / containerd |")
print("|---|---|---|---|")
print(f"| `exec CONTAINER /bin/true` round trip, client included (hyperfine median of {runs}) | {m['skiffd']:.0f} ms | {m['containerd']:.0f} ms | {m['skiffd'] / m['containerd']:.2f} |")
print(f"| port-forward throughput, 64 MiB from httpd in the pod, read by curl (median of {transfers}) | {s:.0f} MiB/s | {c:.0f} MiB/s | {s / c:.2f} |")
PY
