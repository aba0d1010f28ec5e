#!/usr/bin/env bash
# The README's first command: install what is missing, build, compile samples/site.pol.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
bash .ci/build.sh
./build/driver/policyc build samples/site.pol
