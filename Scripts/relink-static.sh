#!/usr/bin/env bash
# Links products of the development build (swift build, debug) again with the Swift runtime linked
# in, into OUT_DIR: the objects make test has just tested, in the form a package ships (no Swift
# installation on the node). The package of make test-node is built so (DEB_BUILD_OPTIONS=noopt),
# in seconds. A build with --static-swift-stdlib would compile every module again (its objects name
# the static libraries), and in the same .build leave objects a later dynamic link cannot use.
#
# SwiftPM's own link command for each product is taken from its build description and given
# -static-stdlib. A static link does not follow the libraries' own dependencies as the dynamic
# loader does, so Foundation's are named (as the skiff target names them for -static-executable).
#
# Usage: Scripts/relink-static.sh OUT_DIR PRODUCT...      (after swift build, from any directory)
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 OUT_DIR PRODUCT..." >&2; exit 2; }
out=$(realpath -m "$1")
shift
cd "$(dirname "$0")/.."
mkdir -p "$out"
for product in "$@"; do
    python3 - .build/debug.yaml "$product" "$out/$product" <<'PY'
import json, os, sys
description, product, target = sys.argv[1:]
# The build description is YAML whose command blocks keep "outputs:" and "args:" on one line
# each, as JSON arrays: the link command is the block whose only output is the product.
args, outputs = None, None
for line in open(description):
    line = line.strip()
    if line.startswith("outputs: "):
        outputs = json.loads(line[len("outputs: "):])
    elif line.startswith("args: ") and outputs and len(outputs) == 1 and os.path.basename(outputs[0]) == product \
            and "-emit-executable" in line:
        args = json.loads(line[len("args: "):])
        break
if args is None:
    sys.exit(f"relink-static: no link command for {product} in {description}; run swift build first")
args[args.index("-o") + 1] = target
# The development build finds the runtime beside itself ($ORIGIN); a static one needs no search path.
while "-rpath=$ORIGIN" in args:
    i = args.index("-rpath=$ORIGIN")
    del args[i - 1:i + 1]
args += ["-static-stdlib", "-lFoundationEssentials", "-l_FoundationCShims", "-l_FoundationCollections",
         "-lCoreFoundation", "-lFoundationInternationalization", "-l_FoundationICU", "-lswiftSynchronization"]
os.execvp(args[0], args)
PY
done
