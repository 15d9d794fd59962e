# Sourced by the daemon benchmarks (bench-pull.sh, bench-pods.sh): a private skiffd and a private
# containerd 1.6 (Debian's, runc), each with its own root, state, socket and config under $work,
# both pulling from the fixture registry on 127.0.0.1:$port, both driven by the same client
# (skiffctl speaks CRI to either). Processes are stopped by the pids recorded here.
#
# Needs: $work, $port, $skiffd, $skiffctl set; defines skiff_pid, ctrd_pid, endpoint, client.
fixtures=Tests/Fixtures/images
pids=()

bench_cleanup() {
    set +e
    for rt in skiff ctrd; do
        # Pods first (containers, monitors, shims), then the daemons.
        for pod in $($(client $rt) pods -q 2>/dev/null); do $(client $rt) stopp "$pod" >/dev/null 2>&1; $(client $rt) rmp "$pod" >/dev/null 2>&1; done
    done
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    bash "$fixtures/registry.sh" stop "$work/reg" >/dev/null
    if grep -q " $work/" /proc/mounts; then
        echo "bench: mounts left under $work, not removing it" >&2
    else
        rm -rf "$work"
    fi
}

endpoint() { [ "$1" = skiff ] && echo "unix://$work/skiff/skiff.sock" || echo "unix://$work/ctrd/containerd.sock"; }
client() { echo "$skiffctl -r $(endpoint "$1") -t 60s"; }

# bench_registry IMAGE...: the fixture images, built and served on 127.0.0.1:$port.
bench_registry() {
    python3 "$fixtures/build-images.py" "$work/images" "$@" >/dev/null
    bash "$fixtures/registry.sh" start "$work/reg" "$port" >/dev/null
    bash "$fixtures/push-images.sh" "$work/images" "127.0.0.1:$port" >/dev/null
}

bench_start_daemons() {
    mkdir -p "$work/skiff/etc"
    printf '[cni]\nconf_dir = "%s"\n' "$work/skiff/etc/net.d" >"$work/skiff/etc/config.toml"
    "$skiffd" --config "$work/skiff/etc/config.toml" --root "$work/skiff/root" --state "$work/skiff/state" \
        --socket "$work/skiff/skiff.sock" </dev/null >"$work/skiffd.log" 2>&1 &
    pids+=($!)
    skiff_pid=$!

    # containerd, with the registry as a plain-HTTP host and its pause image from there.
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
    sandbox_image = "127.0.0.1:$port/pause:latest"
    # A host whose root lacks CAP_SYS_RESOURCE cannot give the pause container the kubelet's -998
    # oom_score_adj (runc then fails its create): containerd keeps its own score instead.
    restrict_oom_score_adj = true
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

    for rt in skiff ctrd; do
        for _ in $(seq 200); do $(client $rt) version >/dev/null 2>&1 && break; sleep 0.05; done
        $(client $rt) version >/dev/null || { cat "$work"/*.log >&2; echo "bench: $rt did not answer" >&2; exit 1; }
    done
}
