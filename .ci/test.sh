#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every test (unit, golden, cli,
# kernel). Kernel tests use scratch network namespaces only; they skip (and say why) only where
# the machine has no root or no namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
bash .ci/build.sh
cd build
# serial: iptables-legacy-restore takes the global /run/xtables.lock even inside a netns
ctest --output-on-failure
cd ..
# The same unit/golden/cli/lint tests under ASan+UBSan, then each fuzz target for a fixed number
# of inputs from a fixed seed (about 30 s each on 2 cores): a time budget would make CI's result
# depend on the machine's speed. Longer, random exploration: tests/fuzz/run.sh SECONDS.
bash tests/sanitize.sh build-asan
bash tests/fuzz/run.sh --runs 20000 compile import_iptables
bash tests/fuzz/run.sh --runs 100000 import_nft_json
bash tests/fuzz/run.sh --runs 1000000 ipt_blob rtnl
