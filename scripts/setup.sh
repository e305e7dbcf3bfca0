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
# llama.cpp is built for a fixed, portable x86-64 feature set (AVX2/FMA/F16C), not for the build
# machine (GGML_NATIVE): some VMs advertise AMX but fault on its first instruction (ldtilecfg ->
# general protection fault), which killed every embedded teacher. The wheel is kept in a wheelhouse
# keyed by version and flags, because pip's own cache ignores CMAKE_ARGS.
LLAMA_VERSION="$(sed -n 's/^llama_cpp_python==//p' requirements/constraints.txt)"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
WHEELHOUSE="${XDG_CACHE_HOME:-$HOME/.cache}/recsaver-t5x/wheels/llama-$(echo "$LLAMA_VERSION $LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
# The editable install maps top-level packages when it runs: a new package must trigger it again.
stamp="$VENV/.recsaver-installed-$( (cat requirements/base.in requirements/constraints.txt setup.py; echo "$LLAMA_CMAKE_ARGS"; ls -d */__init__.py) | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing pinned dependencies into $VENV (first time ~10 min: TF, JAX, torch CPU, llama.cpp build)"
  "$VENV/bin/python" -m pip install -q --upgrade "pip==26.3" wheel setuptools
  # torch is pinned to the CPU build (2.13.0+cpu); the constraints keep pip from pulling a CUDA torch.
  if ! ls "$WHEELHOUSE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "[setup] building llama-cpp-python $LLAMA_VERSION (portable AVX2, ~4 min on 2 cores) into $WHEELHOUSE"
    mkdir -p "$WHEELHOUSE"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$VENV/bin/python" -m pip wheel -q \
      --no-deps --no-cache-dir -w "$WHEELHOUSE" "llama_cpp_python==$LLAMA_VERSION"
  fi
  "$VENV/bin/python" -m pip install -q -c requirements/constraints.txt --find-links "$WHEELHOUSE" -r requirements/base.in
  # An older venv may hold a natively built wheel of the same version: replace it.
  "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$WHEELHOUSE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
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
