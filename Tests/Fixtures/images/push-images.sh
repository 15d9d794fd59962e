#!/bin/bash
# Push every OCI layout built by build-images.py to a test registry.
#
#   push-images.sh LAYOUT_DIR REGISTRY [USER:PASSWORD]
#
# e.g. push-images.sh /tmp/images 127.0.0.1:5055 skiff:secret
# Each LAYOUT_DIR/NAME (a directory with an oci-layout file) becomes REGISTRY/NAME:latest.
# Uses Debian's `skopeo`. --preserve-digests makes skopeo fail rather than rewrite a
# manifest (recompressing the plain-tar layer, converting Docker media types), so the
# registry serves exactly the bytes in the layout and tests can take their digests,
# and so the image ids, from LAYOUT_DIR/digests.json.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: push-images.sh LAYOUT_DIR REGISTRY [USER:PASSWORD]" >&2
    exit 1
fi
layouts=$1 registry=$2
creds=()
[ $# -eq 3 ] && creds=(--dest-creds "$3")

for dir in "$layouts"/*; do
    [ -f "$dir/oci-layout" ] || continue
    name=$(basename "$dir")
    # `oci:DIR` and not `oci:DIR:latest`: skopeo 1.9 looks a tag up only among index.json
    # entries with OCI media types, so it would not find docker-schema2's Docker manifest.
    # Without a tag it takes the layout's only entry, whatever its type.
    # --all copies an index and every manifest in it; for a single manifest it is a no-op.
    # Policy: the test registry needs no signatures, and CI machines may lack /etc/containers/policy.json.
    skopeo --insecure-policy copy --quiet --all --preserve-digests --dest-tls-verify=false "${creds[@]}" \
        "oci:$dir" "docker://$registry/$name:latest"
    echo "pushed $registry/$name:latest"
done
