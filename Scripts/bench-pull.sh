#!/usr/bin/env bash
# Pull + unpack of the `big` fixture (4 gzip layers, about 67 MB) from a loopback registry into an
# empty store: skiffd against containerd 1.6 (Debian), both driven by the same client (skiffctl
# speaks CRI to either), timed with hyperfine. Prints a Markdown section on stdout.
#
#   bench-pull.sh SKIFFD SKIFFCTL
#
# Each runtime is a private instance under a temporary directory (own root, state, socket,
# config). Between runs the store is emptied with `rmi --all`, and the benchmark checks that no
# blob or snapshot is left. Peak RSS is the daemon's VmHWM over the timed runs (reset after the
# warm-up through /proc/PID/clear_refs). Processes are stopped by the pids recorded here.
set -euo pipefail
cd "$(dirname "$0")/.."
skiffd=$1 skiffctl=$2
runs=${RUNS:-7}
fixtures=Tests/Fixtures/images
work=$(mktemp -d /tmp/skiff-bench-pull.XXXXXX)
port=$((20000 + RANDOM % 20000))
image=127.0.0.1:$port/big:latest
pids=()

cleanup() {
    set +e
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    bash "$fixtures/registry.sh" stop "$work/reg" >/dev/null
    if grep -q " $work/" /proc/mounts; then
        echo "bench-pull: mounts left under $work, not removing it" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

python3 "$fixtures/build-images.py" "$work/images" big >/dev/null
bash "$fixtures/registry.sh" start "$work/reg" "$port" >/dev/null
bash "$fixtures/push-images.sh" "$work/images" "127.0.0.1:$port" >/dev/null

# ---- skiffd
mkdir -p "$work/skiff/etc"
printf '[cni]\nconf_dir = "%s"\n' "$work/skiff/etc/net.d" >"$work/skiff/etc/config.toml"
"$skiffd" --config "$work/skiff/etc/config.toml" --root "$work/skiff/root" --state "$work/skiff/state" \
    --socket "$work/skiff/skiff.sock" </dev/null >"$work/skiffd.log" 2>&1 &
pids+=($!)
skiff_pid=$!

# ---- containerd, with the registry as a plain-HTTP host
mkdir -p "$work/ctrd/certs.d/127.0.0.1:$port" "$work/ctrd/net.d"
printf 'server = "http://127.0.0.1:%s"\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$port" "$port" >"$work/ctrd/certs.d/127.0.0.1:$port/hosts.toml"
cat >"$work/ctrd/config.toml" <<TOML
version = 2
root = "$work/ctrd/root"
state = "$work/ctrd/state"
[grpc]
  address = "$work/ctrd/containerd.sock"
[ttrpc]
  address = "$work/ctrd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$work/ctrd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    netns_mounts_under_state_dir = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".cni]
      conf_dir = "$work/ctrd/net.d"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$work/ctrd/certs.d"
TOML
containerd --config "$work/ctrd/config.toml" </dev/null >"$work/containerd.log" 2>&1 &
pids+=($!)
ctrd_pid=$!

endpoint() { [ "$1" = skiff ] && echo "unix://$work/skiff/skiff.sock" || echo "unix://$work/ctrd/containerd.sock"; }
client() { echo "$skiffctl -r $(endpoint "$1") -t 60s"; }
for rt in skiff ctrd; do
    for _ in $(seq 200); do $(client $rt) version >/dev/null 2>&1 && break; sleep 0.05; done
    $(client $rt) version >/dev/null || { cat "$work"/*.log >&2; echo "bench-pull: $rt did not answer" >&2; exit 1; }
done

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
