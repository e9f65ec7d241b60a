#!/bin/sh
# Runs scripts/nir_roundtrip.py in its own venv (never the CI venv; not run in CI).
# SNNC_ROUNDTRIP_VENV: the venv (default ~/.cache/snnc-roundtrip-python), made
# and filled on first use: torch (CPU-only wheels, else PyPI's), then norse,
# snntorch, nir, nirtorch, h5py, numpy. Arguments go to the Python script.
set -eu
venv="${SNNC_ROUNDTRIP_VENV:-$HOME/.cache/snnc-roundtrip-python}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install torch --index-url https://download.pytorch.org/whl/cpu || "$venv/bin/pip" install torch
    "$venv/bin/pip" install norse snntorch nir nirtorch h5py numpy
fi
cd "$(dirname "$0")/.."
exec "$venv/bin/python" scripts/nir_roundtrip.py "$@"
