# Shared by the kernel test scripts: the skip rule and scratch namespace handling.
# A test may skip (exit 77) only when the machine lacks root or network namespaces.
require_netns() {
    if [ "$(id -u)" != 0 ]; then echo "SKIP: not root: kernel tests need root" >&2; exit 77; fi
    local probe="pcx-probe-$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        echo "SKIP: cannot create network namespaces here" >&2; exit 77
    fi
    ip netns del "$probe"
}

# usage: write_fixtures SCRIPT UNIT_TEST_BINARY WRITER
# The fixture runners' common start: checks the binary and root, makes $tmp (removed on exit)
# and has the unit test binary run its fixture writer WRITER into it (see
# tests/unit/fixture_writers.h).
write_fixtures() {
    if [ -z "$2" ] || [ ! -x "$2" ]; then
        echo "usage: $1 UNIT_TEST_BINARY" >&2
        exit 2
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "$1: skipped: needs root for scratch network namespaces" >&2
        exit 77
    fi
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 2' HUP INT TERM
    if ! POLICYC_ORACLE_DIR="$tmp" "$2" --write-fixtures="$3" >"$tmp/unit.log" 2>&1; then
        cat "$tmp/unit.log" >&2
        exit 1
    fi
}

# usage: nft_oracle_with_cgroups ORACLE FILE
# nft 1.0.6 resolves `socket cgroupv2 level N "path"` to the inode of /sys/fs/cgroup/path when it
# loads and back when it lists. This machine mounts cgroup2 at /sys/fs/cgroup/unified, so such a
# rendering runs in private mount and network namespaces whose /sys/fs/cgroup is a tmpfs holding
# the directories the file names: that proves the spelling and the path round trip, not the
# cgroup's kernel semantics. (`ip netns exec` would remount /sys, hence unshare and
# NFT_ORACLE_CURRENT_NETNS.)
nft_oracle_with_cgroups() {
    if ! command -v unshare >/dev/null 2>&1; then
        echo "skipped: $2: no unshare(1) for private mount and network namespaces"
        return 77
    fi
    dirs=$(grep -o 'socket cgroupv2 level [0-9]* \(!= \)\?"[^"]*"' "$2" | sed 's/.*"\(.*\)"/\1/' | sort -u)
    # shellcheck disable=SC2016  # $0, $1 and $@ belong to the inner shell
    NFT_ORACLE_CURRENT_NETNS=1 unshare -m -n --propagation private sh -c '
        oracle=$0 file=$1; shift
        mount -t tmpfs policyc-cgroup-stand-in /sys/fs/cgroup || exit 77
        for d in "$@"; do mkdir -p "/sys/fs/cgroup/$d" || exit 77; done
        exec "$oracle" "$file"' "$1" "$2" $dirs
}

# usage: make_ifaces NS NAME[=ADDR/LEN,...]...
# Creates each interface in NS as one end of a veth pair (peer pcxvN, also in NS), with its
# addresses, up; lo up too. The scratch stand-in for the host's real interfaces.
make_ifaces() {
    ns=$1
    shift
    ip -n "$ns" link set lo up
    n=0
    for spec in "$@"; do
        name=${spec%%=*}
        addrs=${spec#*=}
        [ "$addrs" = "$spec" ] && addrs=
        if [ "$name" != lo ]; then
            ip -n "$ns" link add "$name" type veth peer name "pcxv$n" || return 1
            ip -n "$ns" link set "pcxv$n" up
            ip -n "$ns" link set "$name" up
            n=$((n + 1))
        fi
        for a in $(echo "$addrs" | tr ',' ' '); do
            ip -n "$ns" addr add "$a" dev "$name" nodad 2>/dev/null ||
                ip -n "$ns" addr add "$a" dev "$name" || return 1
        done
    done
}

# usage: kernel_listing NS [SYSCTL_FILE]
# Everything policyc may change in NS, as the real tools list it: legacy tables (counters
# zeroed, table blocks in a fixed order, since iptables-legacy-save lists them newest-created
# first), the nftables ruleset, ip rules and routes of both families, and the values of the
# sysctl keys named in SYSCTL_FILE.
kernel_listing() {
    for save in iptables-legacy-save ip6tables-legacy-save; do
        echo "== $save"
        ip netns exec "$1" "$save" | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]/[0:0]/' |
            awk '/^\*/{name=$0} {blocks[name]=blocks[name] $0 "\n"}
                 END {n=split("*raw *mangle *nat *filter *security", order, " ")
                      for (i=1;i<=n;i++) if (order[i] in blocks) printf "%s", blocks[order[i]]}'
    done
    echo "== nft"
    ip netns exec "$1" nft list ruleset | sed 's/packets [0-9]* bytes [0-9]*/packets 0 bytes 0/'
    for fam in -4 -6; do
        echo "== ip $fam rule"
        ip -n "$1" $fam rule show
        echo "== ip $fam route"
        # the kernel lists address-derived routes of several devices in a timing-dependent order;
        # the link-local addresses it derives from random MAC addresses come in their own time
        ip -n "$1" $fam route show table all | grep -v '^local fe80::.* proto kernel' | sort
    done
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        echo "== sysctl"
        sed -n 's/^\([^#=][^=]*\)=.*/\1/p' "$2" | while read -r key; do
            echo "$key = $(ip netns exec "$1" sysctl -n "$key")"
        done
    fi
}

# usage: s4_client_links NS
# Scenario S4's client: eth3 on the LAN (192.168.1.3/24) and the VXLAN tunnel vlan3
# (10.0.0.3/24) to 192.168.1.2 over it, as lint_live.sh and lint_live_nft.sh write it by hand.
s4_client_links() {
    ip -n "$1" link add eth3 type veth peer name pcxv0
    ip -n "$1" link set eth3 up && ip -n "$1" link set pcxv0 up
    ip -n "$1" addr add 192.168.1.3/24 dev eth3
    ip -n "$1" link add vlan3 type vxlan id 3 remote 192.168.1.2 local 192.168.1.3 dstport 4789
    ip -n "$1" link set vlan3 up && ip -n "$1" addr add 10.0.0.3/24 dev vlan3
}

# usage: expect_lint DESCRIPTION WANTED_EXIT WANTED_SUMMARY
# Runs the caller's `lint` (policyc lint --format json ...) and its `summary` filter on the
# result; a mismatch prints both and sets fail=1.
expect_lint() {
    local out rc got
    out=$(lint); rc=$?
    got=$(echo "$out" | summary | tr '\n' ' ')
    if [ "$rc" = "$2" ] && [ "$got" = "$3" ]; then
        echo "ok: $1: exit $rc, '${got% }'"
    else
        echo "FAIL: $1: exit $rc (want $2), got '$got' (want '$3')"; echo "$out"; fail=1
    fi
}

# usage: hold_cgroups ROOT PATH...   (and release_cgroups in the caller's EXIT trap)
# Makes the missing cgroups PATH under ROOT, the real cgroup2 hierarchy (cgroups are not per
# network namespace; the kernel resolves a cgroup match's path when the rule is loaded). Tests
# run in parallel and use the same paths: each holds a shared lock while it needs them, the
# cgroups made are listed in a shared file, and only the last test out removes them, so no
# test removes a cgroup another one is loading a rule for.
policyc_cgroup_lock=/run/policyc-test-cgroups.lock
policyc_cgroup_list=/run/policyc-test-cgroups.list
hold_cgroups() {
    local root=$1 path dir part rest
    shift
    # fd 9 and no bash-only syntax: this file is also sourced by sh scripts, which must parse it
    if [ -z "${policyc_cgroup_held:-}" ]; then
        exec 9>>"$policyc_cgroup_lock" || return 1
        flock -s 9 || return 1
        policyc_cgroup_held=1
    fi
    for path; do
        dir=$root rest=$path
        while [ -n "$rest" ]; do
            part=${rest%%/*}
            case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
            [ -n "$part" ] || continue
            dir=$dir/$part
            [ -d "$dir" ] && continue
            # another test may make it at the same moment
            mkdir "$dir" 2>/dev/null || [ -d "$dir" ] || return 1
            echo "$dir" >> "$policyc_cgroup_list"
        done
    done
}
release_cgroups() {
    [ -n "${policyc_cgroup_held:-}" ] || return 0
    flock -u 9
    if flock -x -n 9 && [ -f "$policyc_cgroup_list" ]; then
        tac "$policyc_cgroup_list" | while read -r dir; do rmdir "$dir" 2>/dev/null; done
        rm -f "$policyc_cgroup_list"
    fi
    exec 9>&-
    policyc_cgroup_held=
}
