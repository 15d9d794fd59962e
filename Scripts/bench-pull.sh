#!/usr/bin/env bash
# Pull + unpack of the `big` fixture (4 gzip layers, about 67 MB) from a loopback registry into an
# empty store: skiffd against containerd 1.6 (Debian), both driven by the same client (skiffctl
# speaks CRI to either), timed with hyperfine. Prints a Markdown section on stdout.
#
#   bench-pull.sh SKIFFD SKIFFCTL
#
# Each runtime is a private instance under a temporary directory (Scripts/bench-lib.sh). Between
# runs the store is emptied with `rmi --all`, and the benchmark checks that no blob or snapshot is left. Peak RSS is the daemon's VmHWM over the timed runs (reset after the
# warm-up through /proc/PID/clear_refs).
set -euo pipefail
cd "$(dirname "$0")/.."
skiffd=$1 skiffctl=$2
runs=${RUNS:-7}
work=$(mktemp -d /tmp/skiff-bench-pull.XXXXXX)
port=$((20000 + RANDOM % 20000))
image=127.0.0.1:$port/big:latest
source Scripts/bench-lib.sh
trap bench_cleanup EXIT
bench_registry big
bench_start_daemons

# hyperfine --prepare: remove every image and insist that nothing is left on disk.
for rt in skiff ctrd; do
    if [ $rt = skiff ]; then
        left="ls -A $work/skiff/root/snapshots $work/skiff/root/content/blobs/sha256 2>/dev/null"
    else
        left="ctr -a $work/ctrd/containerd.sock -n k8s.io content ls -q; ctr -a $work/ctrd/containerd.sock -n k8s.io snapshots ls | tail -n +2"
    fi
    cat >"$work/reset-$rt.sh" <<SH
#!/bin/bash
set -euo pipefail
$(client $rt) rmi --all >/dev/null 2>&1 || true
rest=\$( { $left; } | grep -v ':\$' | grep . || true)
[ -z "\$rest" ] || { echo "store of $rt not empty: \$rest" >&2; exit 1; }
SH
    chmod +x "$work/reset-$rt.sh"
    # One untimed pull: the registry's files are in the page cache for every timed run.
    $(client $rt) pull "$image" >/dev/null
    "$work/reset-$rt.sh"
done
echo 5 >"/proc/$skiff_pid/clear_refs"
echo 5 >"/proc/$ctrd_pid/clear_refs"

hyperfine -N --runs "$runs" --export-json "$work/pull.json" \
    --prepare "$work/reset-skiff.sh" -n skiffd "$(client skiff) pull $image" \
    --prepare "$work/reset-ctrd.sh" -n containerd "$(client ctrd) pull $image" >&2

hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
python3 - "$work/pull.json" "$(hwm $skiff_pid)" "$(hwm $ctrd_pid)" "$(containerd --version)" "$runs" <<'PY'
import json, sys
path, skiff_kb, ctrd_kb, version, runs = sys.argv[1:]
m = {r["command"]: r["median"] for r in json.load(open(path))["results"]}
print("## Image pull\n")
print(f"`big` fixture (4 gzip layers, about 67 MB) from a loopback docker-registry into an empty store, pulled and")
print(f"unpacked through CRI `PullImage` with the same client (`skiffctl pull`) against each daemon; hyperfine")
print(f"medians of {runs} runs, store emptied and checked empty before each. Peer: {version}, overlayfs snapshotter.\n")
print("| what | skiffd | containerd | containerd / skiffd |")
print("|---|---|---|---|")
print(f"| pull + unpack | {m['skiffd'] * 1000:.0f} ms | {m['containerd'] * 1000:.0f} ms | {m['containerd'] / m['skiffd']:.2f}× |")
print(f"| daemon peak RSS during the timed pulls | {int(skiff_kb) / 1024:.1f} MiB | {int(ctrd_kb) / 1024:.1f} MiB | |")
print("\nTarget (issue: images): pull + unpack at least 1.5× faster than containerd, and a lower peak RSS.")
PY
