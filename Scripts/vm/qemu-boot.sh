# Sourced by the VM scripts (run-tests.sh, boot-guest.sh): one way to boot a guest and judge it.
#
# vm_boot LABEL LOG MARKER LIMIT_SECONDS QEMU_ARGS...
# Boots qemu under TCG (no KVM here) with QEMU_ARGS, keeps the console in LOG (carriage returns
# and terminal escapes stripped), shows the guest's PASS/FAIL/INFO lines as they come, and succeeds
# only if the guest printed the line MARKER before it powered off. The limit guards against a
# stuck guest; on failure the end of the console log is shown.
vm_boot() {
    local label=$1 log=$2 marker=$3 limit=$4 start=$SECONDS status
    shift 4
    set +e
    timeout "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -nographic -no-reboot "$@" </dev/null \
        | sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$log" \
        | grep --line-buffered -E '^(PASS|FAIL|INFO) '
    status=${PIPESTATUS[0]}
    set -e
    if grep -qxF "$marker" "$log"; then
        echo "$label: all passed ($((SECONDS - start)) s)"
        return 0
    fi
    [[ $status -eq 124 ]] && echo "$label: the guest did not finish within $limit s" >&2
    echo "$label: FAILED ($((SECONDS - start)) s); the console log ends with:" >&2
    tail -n 60 "$log" >&2
    return 1
}
