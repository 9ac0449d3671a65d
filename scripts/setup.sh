#!/usr/bin/env bash
# Sets up a fresh machine: Debian packages, npm packages, a running Docker engine, the
# Debian-built base image and the example model. Safe to run again: each step skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
# Debian's Chromium: the desktop window's browser tests (playwright-core drives it; no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
# HPC: a single-node Slurm for the cluster tests and bench, and bubblewrap for the Apptainer stand-in.
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
# A cluster added with --ssh: its tests run the Slurm commands through a local sshd of their own.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
/usr/bin/python3 -c 'import numpy, sklearn, joblib' >/dev/null 2>&1 || need+=(python3-numpy python3-sklearn python3-joblib)
# Debian's PyTorch and ONNX: `dlhub init` reads .pt files with them, and the framework tests use them.
/usr/bin/python3 -c 'import torch, onnx' >/dev/null 2>&1 || need+=(python3-torch python3-onnx)
# Debian's pip: the pip setting's tests make and read wheels with it (it never installs into this Python).
/usr/bin/python3 -c 'import pip' >/dev/null 2>&1 || need+=(python3-pip)
# Debian's gRPC for Python: the instruments' client (examples/instrument) and the gRPC door's tests generate stubs with it.
/usr/bin/python3 -c 'import grpc, grpc_tools' >/dev/null 2>&1 || need+=(python3-grpcio python3-grpc-tools)
# The hub: Debian's OCI registry (dlhub-hub serve starts it) and PostgreSQL (the institutional store; tests run a private cluster).
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Git: `dlhub publish --repo` clones the repository it is given.
command -v git >/dev/null 2>&1 || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing Debian packages: ${need[*]} (install them as root)" >&2; exit 1; fi
  echo "==> apt-get install ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" iptables >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  # The Electron binary comes from GitHub, which these machines cannot reach: the package is kept for its types
  # (export ELECTRON_SKIP_BINARY_DOWNLOAD as empty where the window should really open).
  ELECTRON_SKIP_BINARY_DOWNLOAD=${ELECTRON_SKIP_BINARY_DOWNLOAD-1} npm ci --no-audit --no-fund --loglevel=error
fi

echo "==> npm run build"
npm run build --silent

echo "==> docker engine"
if bash scripts/start-dockerd.sh; then
  echo "==> base image (Debian packages, cached by content)"
  base=$(bash resources/base-image/build.sh | tail -n 1)
  echo "    $base"
  # Recorded as this home's default, so `dlhub build` works offline with no DLHUB_BASE_IMAGE.
  home=${DLHUB_HOME:-$HOME/.dlhub}
  mkdir -p "$home"
  if [ -z "${DLHUB_BASE_IMAGE:-}" ] && ! docker image inspect python:3.11-slim >/dev/null 2>&1; then
    echo "$base" > "$home/base-image"
    echo "    recorded as the default base image in $home/base-image"
  fi
else
  echo "    no Docker engine: servables will run on the host runtime" >&2
fi

echo "==> example model (iris, trained with Debian's scikit-learn)"
/usr/bin/python3 examples/iris/train.py >/dev/null
/usr/bin/python3 examples/formation-enthalpy/predict/train.py >/dev/null
echo "setup done"
