#!/usr/bin/env bash
# Builds the Flask baseline image (bench only): the project's Debian base image plus Debian's python3-flask
# packages, downloaded on the host (nothing is pulled). Cached by a content key; prints the tag last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
base=$(bash "$root/resources/base-image/build.sh" 2>/dev/null | tail -n 1)
key=$( { cat "$here/build.sh" "$here/app.py"; echo "$base"; } | sha256sum | cut -c1-12)
tag="dlhub-bench-flask:$key"
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
work=$(mktemp -d /var/tmp/dlhub-flask.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Flask and the libraries it needs that the base image lacks (python3 itself is there).
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances python3-flask \
  | grep -E '^python3-[a-z0-9.-]+$' | sort -u)
(cd "$work" && apt-get download $pkgs >&2)
cp "$here/app.py" "$work/app.py"
cat > "$work/Dockerfile" <<DOCKER
FROM $base
COPY *.deb /tmp/debs/
RUN dpkg -i --force-depends /tmp/debs/*.deb >/dev/null && rm -rf /tmp/debs
COPY app.py /srv/app.py
USER 65534:65534
CMD ["python3", "/srv/app.py", "8080"]
DOCKER
docker build -q -t "$tag" "$work" >&2
echo "$tag"
