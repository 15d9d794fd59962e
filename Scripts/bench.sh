#!/usr/bin/env bash
# make bench: container start latency of `skiff` against runc on the same busybox bundle, timed
# with hyperfine, plus the peak RSS of one `skiff create`; then image pulls of skiffd against
# containerd (Scripts/bench-pull.sh), and pods through CRI against containerd (Scripts/bench-pods.sh).
# Writes docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "make bench needs root (it starts containers)" >&2; exit 1; }

Scripts/install-deps.sh Packaging/bench-packages.txt
# Static stdlib, as the Debian package ships it: no dynamic Swift runtime to load at each start
# (`skiff` itself links fully static, see Package.swift).
for product in skiff skiffd skiffctl; do
    swift build -c release --static-swift-stdlib --product "$product" >/dev/null
done
bindir=$(swift build -c release --show-bin-path)
Scripts/build-monitor.sh "$bindir"   # skiffd runs each container under it (beside skiffd)
skiff=$bindir/skiff
runc=$(command -v runc)
work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
# The containers' cgroups go with `delete`; their parent is left empty, so it goes here.
trap 'rm -rf "$work"; rmdir /sys/fs/cgroup/*/skiff-bench 2>/dev/null || true' EXIT

# A bundle whose process sleeps: `delete -f` has a live container to kill, as in real use.
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/sleep"
(cd "$work/bundle" && "$skiff" spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["args"] = ["/bin/sleep", "1000"]
spec["linux"]["cgroupsPath"] = "/skiff-bench/c"
json.dump(spec, open(path, "w"), indent=1)
PY

b="$work/bundle"
hyperfine --warmup 3 --runs 40 --export-json "$work/cycle.json" \
    -n skiff "$skiff --root $work/s run -d --bundle $b c >/dev/null && $skiff --root $work/s delete -f c" \
    -n runc "$runc --root $work/r run -d --bundle $b c >/dev/null && $runc --root $work/r delete -f c"
for rt in skiff runc; do
    bin=${!rt}
    hyperfine --warmup 3 --runs 40 --export-json "$work/create-$rt.json" \
        --prepare "$bin --root $work/$rt-c delete -f c >/dev/null 2>&1 || true" \
        --cleanup "$bin --root $work/$rt-c delete -f c" \
        -n "$rt" "$bin --root $work/$rt-c create --bundle $b c </dev/null >/dev/null 2>&1 && $bin --root $work/$rt-c start c"
    # The same work in one process, as `run -d` does it.
    hyperfine --warmup 3 --runs 40 --export-json "$work/rund-$rt.json" \
        --prepare "$bin --root $work/$rt-c delete -f c >/dev/null 2>&1 || true" \
        --cleanup "$bin --root $work/$rt-c delete -f c" \
        -n "$rt" "$bin --root $work/$rt-c run -d --bundle $b c </dev/null >/dev/null 2>&1"
done
# On a running container: pause + resume (cgroup.freeze for skiff, the v1 freezer for runc on this
# hybrid host), and an exec of a process that exits at once, waited for.
for rt in skiff runc; do
    bin=${!rt}
    "$bin" --root "$work/$rt-x" run -d --bundle "$b" x </dev/null >/dev/null 2>&1
    hyperfine --warmup 3 --runs 40 --export-json "$work/pause-$rt.json" \
        -n "$rt" "$bin --root $work/$rt-x pause x && $bin --root $work/$rt-x resume x"
    hyperfine --warmup 3 --runs 40 --export-json "$work/exec-$rt.json" \
        -n "$rt" "$bin --root $work/$rt-x exec x /bin/sleep 0 </dev/null"
    "$bin" --root "$work/$rt-x" delete -f x
done
# The floor under every call: starting the binary and answering one cheap verb.
hyperfine -N --warmup 5 --runs 60 -i --export-json "$work/call.json" \
    -n skiff "$skiff --root $work/s state none" -n runc "$runc --root $work/r state none" >/dev/null 2>&1
/usr/bin/time -v "$skiff" --root "$work/s" create --bundle "$b" c </dev/null >/dev/null 2>"$work/time.txt"
"$skiff" --root "$work/s" delete -f c
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")

python3 - "$work" "$rss_kb" <<'PY' > "$work/BENCHMARKS.md"
import json, platform, subprocess, sys
work, rss = sys.argv[1], sys.argv[2]
def medians(name):
    return {r["command"]: r["median"] * 1000 for r in json.load(open(f"{work}/{name}.json"))["results"]}
cycle = medians("cycle")
create = {**medians("create-skiff"), **medians("create-runc")}
rund = {**medians("rund-skiff"), **medians("rund-runc")}
call = medians("call")
pause = {**medians("pause-skiff"), **medians("pause-runc")}
execs = {**medians("exec-skiff"), **medians("exec-runc")}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
runc = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
print("# Benchmarks\n")
print(f"Produced by `make bench` (Scripts/bench.sh, Scripts/bench-pull.sh, Scripts/bench-pods.sh). Machine: {cpu}, {cores} cores, Linux {platform.release()};")
print("release builds: `skiff` fully static, skiffd and skiffctl with the static Swift stdlib. The machine is shared:")
print("compare the ratios, which hold as its speed drifts.\n")
print("## Container start\n")
print("hyperfine medians of 40 runs after 3 warm-ups.")
print("Each run starts a container whose process is busybox `sleep 1000`, on the same bundle for both runtimes.\n")
print(f"Peer: {runc}.\n")
print("| what | skiff | runc | skiff / runc |")
print("|---|---|---|---|")
print(f"| `run -d` + `delete -f` | {cycle['skiff']:.1f} ms | {cycle['runc']:.1f} ms | {cycle['skiff'] / cycle['runc']:.2f} |")
print(f"| `create` + `start` (two processes, as a container manager calls them) | {create['skiff']:.1f} ms | {create['runc']:.1f} ms | {create['skiff'] / create['runc']:.2f} |")
print(f"| `run -d` (create + start in one process) | {rund['skiff']:.1f} ms | {rund['runc']:.1f} ms | {rund['skiff'] / rund['runc']:.2f} |")
print(f"| `pause` + `resume` of a running container | {pause['skiff']:.1f} ms | {pause['runc']:.1f} ms | {pause['skiff'] / pause['runc']:.2f} |")
print(f"| `exec` of `sleep 0`, to its exit | {execs['skiff']:.1f} ms | {execs['runc']:.1f} ms | {execs['skiff'] / execs['runc']:.2f} |")
print(f"| one call (`state` of a missing container) | {call['skiff']:.1f} ms | {call['runc']:.1f} ms | {call['skiff'] / call['runc']:.2f} |")
print(f"\nPeak RSS of one `skiff create` (`/usr/bin/time -v`): {int(rss) / 1024:.1f} MiB.\n")
print("Targets (issues: the skiff runtime, drop-in runc): `run -d` + `delete -f` at most a third of runc's; create+start")
print("under 10 ms and at most a quarter of runc's.")
print("runc's `delete -f` sleeps 100 ms waiting for the killed process; skiff waits on a pidfd instead.")
print("create + start is two processes: twice the per-call floor above, plus the namespaces, mounts and")
print("cgroup of the container. Of those, the network namespace costs most (docs/ARCHITECTURE.md).\n")
PY
Scripts/bench-pull.sh "$bindir/skiffd" "$bindir/skiffctl" >>"$work/BENCHMARKS.md"
echo >>"$work/BENCHMARKS.md"
Scripts/bench-pods.sh "$bindir/skiffd" "$bindir/skiffctl" >>"$work/BENCHMARKS.md"
echo >>"$work/BENCHMARKS.md"
Scripts/bench-stream.sh "$bindir/skiffd" "$bindir/skiffctl" >>"$work/BENCHMARKS.md"
cp "$work/BENCHMARKS.md" docs/BENCHMARKS.md
cat docs/BENCHMARKS.md
