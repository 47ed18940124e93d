#!/bin/sh
# Build and run riscv-tests (p environment) on vmcore's spike board.
#   riscv-tests.sh /path/to/riscv-tests [--suite rv64ui ...] [--out DIR] [--engine interp]
# The checkout needs its env/ submodule (riscv-software-src/riscv-test-env). See
# riscv_tests.py for the details; this wrapper only picks the repository's venv.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py="$here/../../../.venv/bin/python"
[ -x "$py" ] || py=python3
exec "$py" "$here/riscv_tests.py" "$@"
