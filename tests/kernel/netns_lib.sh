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
