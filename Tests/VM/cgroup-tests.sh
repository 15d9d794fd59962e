#!/bin/sh
# cgroup v2 enforcement tests, run inside the VM by Tests/VM/init (busybox sh).
#
# The runtime under test is /usr/bin/skiff (skiff, or runc as the reference). Each test runs a
# container detached from /vm/bundles/<name>: its config.json, made on the host from the runtime's
# own `spec`, sets the limits and cgroupsPath /skiff-vm/<name>; its process runs /payload.sh, which
# the test writes into the rootfs. Detached, so that the cgroup files can be read while the
# container runs and after it stopped, before `delete` removes the cgroup.

# A hung runtime fails its test instead of stalling the VM until the host's timeout.
RT="timeout 60 skiff --root /run/skiff-vm"
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

# The value of KEY in a flat-keyed cgroup file: key FILE KEY ("oom_kill 1" -> 1).
key() { sed -n "s/^$2 //p" "$1"; }

# A container's status from `state` ("status": "x" from runc and skiff; spaces allowed either side).
# Through a file: busybox timeout's watcher process would hold a pipe open for up to a second.
status() {
    $RT state "$1" >/tmp/state 2>/dev/null
    sed -n 's/.*"status" *: *"\([a-z]*\)".*/\1/p' /tmp/state
}

# Waits up to $2 seconds for container $1 to stop.
wait_stopped() {
    n=0
    while [ "$(status "$1")" != stopped ]; do
        n=$((n + 1))
        [ $n -gt $(($2 * 5)) ] && return 1
        sleep 0.2
    done
}

# Starts container $1 with payload $2, and an empty /run for the payload's marker files; sets
# $rootfs and $cg (its cgroup). Output goes to a file, not a pipe: the container inherits it.
run_detached() {
    rootfs=/vm/bundles/$1/rootfs cg=/sys/fs/cgroup/skiff-vm/$1
    printf '%s\n' "$2" >$rootfs/payload.sh
    rm -rf $rootfs/run && mkdir $rootfs/run
    if ! $RT run -d --bundle /vm/bundles/$1 $1 >/tmp/$1.out 2>&1 </dev/null; then
        fail $1 "run -d failed: $(cat /tmp/$1.out)"
        return 1
    fi
    [ -d $cg ] && return 0
    fail $1 "no cgroup at $cg"
    $RT delete -f $1
    return 1
}

# memory: 32 MiB limit; dd's 64 MiB buffer, filled from /dev/zero, must get the OOM killer.
# The payload waits for /run/go so that memory.max can be read while the container runs, and records
# dd's exit status (137 = SIGKILL) in the rootfs.
test_memory() {
    run_detached memory 'while [ ! -e /run/go ]; do sleep 0.1; done
dd if=/dev/zero of=/dev/null bs=64M count=1
echo $? >/run/status' || return
    max=$(cat $cg/memory.max)
    : >$rootfs/run/go
    wait_stopped memory 60 || { $RT delete -f memory; fail memory "still running after 60 s"; return; }
    oom_kills=$(key $cg/memory.events oom_kill)
    exit_status=$(cat $rootfs/run/status 2>/dev/null)
    $RT delete -f memory
    if [ "$max" != 33554432 ]; then fail memory "memory.max is '$max', not 33554432"
    elif [ "$exit_status" != 137 ]; then fail memory "dd exited with '$exit_status', not 137 (SIGKILL)"
    elif [ "${oom_kills:-0}" -lt 1 ]; then fail memory "memory.events has oom_kill '$oom_kills'"
    else pass memory; fi
}

# pids: 16 pids; a subshell starts 64 background sleeps (it exits at the first failed fork), then
# the payload marks /run/forked and stays. pids.current is sampled throughout.
test_pids() {
    run_detached pids '(i=0; while [ $i -lt 64 ]; do sleep 60 & i=$((i + 1)); done) 2>/dev/null
: >/run/forked
exec sleep 60' || return
    peak=0 n=0
    while [ $n -le 300 ]; do
        current=$(cat $cg/pids.current)
        [ "$current" -gt $peak ] && peak=$current
        [ -e $rootfs/run/forked ] && break
        n=$((n + 1))
        sleep 0.2
    done
    max=$(cat $cg/pids.max)
    refused=$(key $cg/pids.events max)
    $RT delete -f pids
    if [ ! -e $rootfs/run/forked ]; then fail pids "the fork loop did not finish within 60 s"
    elif [ "$max" != 16 ]; then fail pids "pids.max is '$max', not 16"
    elif [ $peak -gt 16 ]; then fail pids "pids.current reached $peak"
    elif [ "${refused:-0}" -lt 1 ]; then fail pids "pids.events has max '$refused': no fork was refused"
    else pass pids; fi
}

# cpu: quota 10 ms per 100 ms period; a busy loop runs for 2 s of wall time and must be throttled,
# using well under a CPU (10 %, 30 % allowed for accounting slack).
test_cpu() {
    run_detached cpu 'while :; do :; done' || return
    max=$(cat $cg/cpu.max)
    used0=$(key $cg/cpu.stat usage_usec) up0=$(cut -d' ' -f1 /proc/uptime)
    sleep 2
    used1=$(key $cg/cpu.stat usage_usec) up1=$(cut -d' ' -f1 /proc/uptime)
    throttled=$(key $cg/cpu.stat nr_throttled)
    $RT delete -f cpu
    # /proc/uptime has two decimals: drop the dot for centiseconds; 1 cs = 10000 µs.
    elapsed_cs=$((${up1%.*}${up1#*.} - ${up0%.*}${up0#*.}))
    percent=$(((used1 - used0) / elapsed_cs / 100))
    if [ "$max" != "10000 100000" ]; then fail cpu "cpu.max is '$max', not '10000 100000'"
    elif [ "${throttled:-0}" -lt 1 ]; then fail cpu "cpu.stat has nr_throttled '$throttled'"
    elif [ $percent -gt 30 ]; then fail cpu "the loop used $percent % of a CPU"
    else pass cpu; fi
    echo "cpu: $percent % of a CPU over $elapsed_cs cs, throttled $throttled times"
}

test_memory
test_pids
test_cpu
if [ $failed -eq 0 ]; then echo "VM-TESTS: ALL PASSED"; else echo "VM-TESTS: FAILED"; fi
exit $failed
