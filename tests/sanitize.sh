#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The unit, golden, cli and lint tests again on an ASan+UBSan build (gcc by default; CC/CXX may
# pick clang). Any sanitizer report fails the run. Usage: tests/sanitize.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
cmake --build "$build" -j"$(nproc)"
# leaks are real failures too; abort_on_error gives a non-zero exit from the test scripts
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -L 'unit|golden|cli|lint'
