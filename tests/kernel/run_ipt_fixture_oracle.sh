#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/iptables_text_oracle: has the unit test binary write every iptables_text
# fixture rendering (NAME.v4 / NAME.v6) and proves each with ipt_oracle.sh, so the expected texts
# in tests/unit/iptables_text_test.cpp stay what iptables-legacy-save lists back.
# usage: run_ipt_fixture_oracle.sh UNIT_TEST_BINARY
# Exit: 0 all equal, 1 some differ or failed to load, 77 cannot run here (not root, no netns).
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
write_fixtures run_ipt_fixture_oracle "${1:-}" iptables

status=0
count=0
for file in "$tmp"/*.v4 "$tmp"/*.v6; do
    [ -e "$file" ] || continue
    count=$((count + 1))
    "$here/ipt_oracle.sh" "${file##*.v}" "$file"
    rc=$?
    case $rc in
        0) echo "ok: $(basename "$file")" ;;
        77) exit 77 ;;
        *) echo "FAIL ($rc): $(basename "$file")"; status=1 ;;
    esac
done
if [ "$count" -eq 0 ]; then
    echo "run_ipt_fixture_oracle: the unit binary wrote no fixtures" >&2
    exit 1
fi
exit $status
