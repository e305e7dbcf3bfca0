#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: a project-local virtualenv (.venv) with the pinned
# dependencies, this package (editable), and WordNet for METEOR. Re-running does nothing new
# unless requirements/ or setup.py changed. pip's cache makes a re-install take minutes, not ten.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${RECSAVER_VENV:-.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
# The editable install maps top-level packages when it runs: a new package must trigger it again.
stamp="$VENV/.recsaver-installed-$( (cat requirements/base.in requirements/constraints.txt setup.py; ls -d */__init__.py) | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing pinned dependencies into $VENV (first time ~10 min: TF, JAX, torch CPU, llama.cpp build)"
  "$VENV/bin/python" -m pip install -q --upgrade "pip==26.3" wheel setuptools
  # torch is pinned to the CPU build (2.13.0+cpu); the constraints keep pip from pulling a CUDA torch.
  "$VENV/bin/python" -m pip install -q -c requirements/constraints.txt -r requirements/base.in
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  rm -f "$VENV"/.recsaver-installed-*
  touch "$stamp"
fi
if [ -f scripts/setup_wordnet.sh ]; then
  NLTK_DATA="${NLTK_DATA:-$VENV/nltk_data}" bash scripts/setup_wordnet.sh
fi
# Headless Chromium and its WebDriver (Debian packages) for the `recsaver annotate` browser test.
# Skipped at once when both are on the PATH.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
    echo "[setup] installing chromium and chromium-driver (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null
  else
    echo "[setup] warning: chromium/chromedriver missing and apt-get unavailable (annotate browser test will fail)"
  fi
fi
echo "[setup] ready: $VENV"
