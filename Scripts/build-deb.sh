#!/usr/bin/env bash
# make deb: the Debian package from this tree with debhelper (Packaging/debian), then lintian.
# The build runs in place (debian -> Packaging/debian for the time of the build) so that the
# release build reuses .build; dpkg-buildpackage writes its results to the parent directory, from
# where they are moved to .build/deb.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh Packaging/deb-packages.txt
[[ -e debian ]] && { echo "a debian/ already exists at the top of the tree; remove it first" >&2; exit 1; }
ln -s Packaging/debian debian
trap 'rm -f debian' EXIT
version=$(dpkg-parsechangelog -S Version)
parent=$(dirname "$PWD")
dpkg-buildpackage -b -us -uc 2>&1 | tail -n 20
mkdir -p .build/deb
for f in "$parent"/skiff_"$version"_amd64.{deb,buildinfo,changes} "$parent"/skiff-dbgsym_"$version"_amd64.deb; do
    [[ -e $f ]] && mv "$f" .build/deb/
done
dh_clean 2>/dev/null || true
deb=.build/deb/skiff_${version}_amd64.deb
echo "built $deb"
# Errors fail the build; warnings are printed for a maintainer to judge.
lintian --fail-on error --info "$deb"
