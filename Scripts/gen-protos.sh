#!/usr/bin/env bash
# Regenerates Sources/CRIAPI from Protos/api.proto.
# The output depends only on the proto and the plugin versions pinned in Package.swift, so running
# this twice gives byte-identical files (`make protos-check` relies on that).
# Debian's protoc 3.21 is older than the CRI proto needs, hence grpcio-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-Sources/CRIAPI}

# protoc comes from PyPI's grpcio-tools, kept in a private virtualenv under .build/.
venv=.build/protoc-venv
if ! "$venv/bin/python" -c 'import grpc_tools' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet grpcio-tools
fi
swift build --product protoc-gen-swift >/dev/null
swift build --product protoc-gen-grpc-swift-2 >/dev/null
bin=$(swift build --show-bin-path)

mkdir -p "$out"
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
"$venv/bin/python" -m grpc_tools.protoc \
    --proto_path=Protos \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
    --swift_out="$out" --swift_opt=Visibility=Public \
    --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public \
    api.proto
echo "generated: $(ls "$out"/*.swift | tr '\n' ' ')"
