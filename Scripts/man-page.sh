#!/usr/bin/env bash
# A man page from a command's own help (help2man), with a section per subcommand holding that
# subcommand's help, so that the page and `--help` never disagree.
#
# Usage: Scripts/man-page.sh PROGRAM SECTION "one-line description" VERSION > page
set -euo pipefail
program=$1 section=$2 name=$3 version=$4
include=$(mktemp)
trap 'rm -f "$include"' EXIT
# Subcommand names: the first word of each line after "SUBCOMMANDS:" (aliases follow a comma).
for sub in $("$program" --help | sed -n '/^SUBCOMMANDS:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\).*/\1/p'); do
    printf '[COMMAND %s]\n.nf\n' "$(echo "$sub" | tr a-z A-Z)"
    "$program" help "$sub" 2>/dev/null | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./'
    printf '.fi\n\n'
done >"$include"
help2man --no-info --section "$section" --version-string "$version" --name "$name" --include "$include" "$program"
