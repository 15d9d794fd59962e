#!/usr/bin/env bash
# Builds skiff-monitor (CShims/monitor) into DIR with the C compiler, static: one runs per container,
# so it must stay small. SwiftPM links executables with swiftc, which adds the Swift runtime and its
# start-up writes (about 1 MiB of private dirty memory per monitor, against 80 KiB this way).
#
# Usage: Scripts/build-monitor.sh DIR [extra cc flags]
set -euo pipefail
out=$1
shift
cd "$(dirname "$0")/.."
mkdir -p "$out"
sources=(CShims/monitor/*.c)
target=$out/skiff-monitor
# Rebuilt only when a source is newer than the binary.
if [[ -x $target ]] && [[ -z $(find CShims/monitor Scripts/build-monitor.sh -newer "$target" -print -quit) ]]; then
    exit 0
fi
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -static "$@" -o "$target.tmp" "${sources[@]}"
mv "$target.tmp" "$target"
echo "built $target"
