#!/usr/bin/env bash
# Builds a servable base image from Debian packages with debootstrap + docker import, for machines
# that cannot pull images. The tag carries a content key (this script, the package list, the suite),
# so an unchanged recipe is built once and reused. Prints the tag on its last line.
#
# Usage: resources/base-image/build.sh [--print-tag]
#   DLHUB_BASE_PACKAGES  extra Debian packages (space separated)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=${DLHUB_BASE_SUITE:-bookworm}
packages="python3 python3-numpy python3-sklearn python3-joblib ca-certificates ${DLHUB_BASE_PACKAGES:-}"
key=$( { cat "$here/build.sh"; echo "$suite"; echo "$packages"; } | sha256sum | cut -c1-12)
tag="dlhub-base:${suite}-${key}"

if [ "${1:-}" = "--print-tag" ]; then echo "$tag"; exit 0; fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag is cached" >&2
  echo "$tag"
  exit 0
fi

# The mirror is whatever this machine's apt already uses: never a hard-coded address.
mirror=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
  echo "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/debian.sources" >&2
  exit 1
fi

work=$(mktemp -d /var/tmp/dlhub-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "building $tag from $mirror ($suite): $packages" >&2
include=$(echo "$packages" | xargs | tr ' ' ',')
debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >&2
# Trim what a runtime never needs; keeps the import small and quick.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/locale"
tar -C "$work/root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
  --change 'CMD ["python3"]' \
  - "$tag" >&2
echo "$tag"
