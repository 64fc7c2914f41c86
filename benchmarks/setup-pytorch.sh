#!/usr/bin/env bash
# Installs the PyTorch the benchmark compares with: Debian's python3-torch, and OpenBLAS so that torch
# does not run on the reference BLAS (the fair opponent). Needs root and Debian's apt; the benchmark
# reports PyTorch as skipped when it is missing, so this is optional. Run it with /usr/bin/python3 in mind:
# the harness calls that interpreter.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3-torch libopenblas0-openmp
/usr/bin/python3 -c "import torch; print('torch', torch.__version__)"
