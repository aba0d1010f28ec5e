#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Oracle for the `ip -batch` routes renderer: loads RENDERING into a scratch network namespace
# with iproute2, reads every rule and route of its family tagged with protocol 211 back through
# `ip -j`, turns each into the rendering's line form (from ip's JSON keys only) and compares.
#
# usage: routes_oracle.py [-6] RENDERING [IFACE...]
#   -6: RENDERING is the IPv6 text, loaded with `ip -6 -batch` and compared with the IPv6
#   listing; without it, the IPv4 text, `ip -batch` and the IPv4 listing. One file holds one
#   family because an `ip -batch` line cannot choose its own (see backends/text/routes_text.cpp).
#   IFACE is NAME=ADDR/LEN[,ADDR/LEN...] (or just NAME): NAME is created as one end of a veth
#   pair (peer pcxp0, pcxp1 ...) with those addresses; `lo` is never created, only addressed.
# Rules are compared in listing order (the kernel lists them in evaluation order); routes are
# compared as a sorted list (their listing order is the kernel's trie order). A line of the other
# family fails to load or is listed under the wrong family, so it shows up as a difference.
# Exit: 0 equal, 1 differ (unified diff on stdout), 2 load failed (ip's stderr) or bad usage,
#       77 cannot run here (not root, no netns support, no ip).
import difflib
import ipaddress
import json
import os
import shutil
import subprocess
import sys

PROTOCOL = "211"
TABLE_NAMES = {253: "default", 254: "main", 255: "local"}
# ip -N prints numbers; without it names. linux/rtnetlink.h RTN_* and linux/fib_rules.h FR_ACT_*.
ROUTE_TYPES = {"1": "unicast", "2": "local", "6": "blackhole", "7": "unreachable",
               "8": "prohibit"}
RULE_ACTIONS = {"6": "blackhole", "7": "unreachable", "8": "prohibit"}
# Keys ip derives from the rest or reports as state, not configuration.
RULE_IGNORED = {"priority", "protocol", "iif_detached", "oif_detached"}
ROUTE_IGNORED = {"protocol", "scope"}


class LoadError(Exception):
    pass


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def ns_ip(ns, *args):
    return run(["ip", "-n", ns, *args])


def checked(ns, *args):
    rc, out, err = ns_ip(ns, *args)
    if rc != 0:
        raise LoadError("ip %s failed:\n%s%s" % (" ".join(args), out, err))
    return out


def parse_iface(spec):
    name, _, addrs = spec.partition("=")
    return name, [a for a in addrs.split(",") if a]


def setup_interfaces(ns, specs):
    checked(ns, "link", "set", "lo", "up")
    for index, spec in enumerate(specs):
        name, addrs = parse_iface(spec)
        if name != "lo":
            peer = "pcxp%d" % index
            checked(ns, "link", "add", name, "type", "veth", "peer", "name", peer)
            checked(ns, "link", "set", peer, "up")
            checked(ns, "link", "set", name, "up")
        for addr in addrs:
            if name == "lo" and addr in ("127.0.0.1/8", "::1/128"):
                continue
            # nodad: an IPv6 address must be usable at once, e.g. as a route's `src`.
            extra = ["nodad"] if ":" in addr else []
            checked(ns, "addr", "add", addr, "dev", name, *extra)


def load(ns, family, path):
    with open(path) as f:
        text = f.read()
    checked(ns, *([family] if family == "-6" else []), "-batch", path)
    return text


def table_name(value):
    try:
        number = int(value)
    except ValueError:
        return value
    return TABLE_NAMES.get(number, str(number))


def prefix(addr, length, v6):
    if addr in ("all", "default"):
        return None
    if length is None:
        length = 128 if v6 else 32
    return "%s/%s" % (addr, length)


def leftovers(entry, used, ignored):
    """Keys the converter does not know, shown in the line so that they appear in the diff."""
    extra = []
    for key in sorted(set(entry) - used - ignored):
        extra.append("<%s=%s>" % (key, json.dumps(entry[key])))
    return extra


def rule_line(entry, v6):
    used = {"not", "fwmark", "fwmask", "iif", "oif", "uid_start", "uid_end", "src", "srclen",
            "dst", "dstlen", "table", "action"}
    words = ["rule", "add", "priority", str(entry["priority"])]
    if "not" in entry:
        words.append("not")
    if "fwmark" in entry:
        mark = int(entry["fwmark"], 0)
        mask = int(entry.get("fwmask", "0xffffffff"), 0)
        # A zero mark needs its mask spelled out, or the kernel would ignore the selector.
        if mask == 0xffffffff and mark != 0:
            words += ["fwmark", "0x%x" % mark]
        else:
            words += ["fwmark", "0x%x/0x%x" % (mark, mask)]
    for key in ("iif", "oif"):
        if key in entry:
            words += [key, entry[key]]
    if "uid_start" in entry:
        words += ["uidrange", "%d-%d" % (entry["uid_start"], entry["uid_end"])]
    for key, word in (("src", "from"), ("dst", "to")):
        if key in entry:
            p = prefix(entry[key], entry.get(key + "len"), v6)
            if p:
                words += [word, p]
    if "action" in entry:
        words.append(RULE_ACTIONS.get(entry["action"], entry["action"]))
    else:
        words += ["lookup", table_name(entry["table"])]
    words += leftovers(entry, used, RULE_IGNORED)
    words += ["protocol", PROTOCOL]
    return " ".join(words)


def route_line(entry, v6):
    used = {"type", "dst", "gateway", "dev", "prefsrc", "metric", "table"}
    words = ["route", "add"]
    kind = entry.get("type", "unicast")
    kind = ROUTE_TYPES.get(kind, kind)
    if kind != "unicast":
        words.append(kind)
    dst = entry["dst"]
    words.append(dst if dst == "default" or "/" in dst else prefix(dst, None, v6))
    if "gateway" in entry:
        words += ["via", entry["gateway"]]
    if "dev" in entry:
        words += ["dev", entry["dev"]]
    if "prefsrc" in entry:
        words += ["src", entry["prefsrc"]]
    if "metric" in entry:
        words += ["metric", str(entry["metric"])]
    ignored = set(ROUTE_IGNORED)
    if entry.get("flags") == []:
        ignored.add("flags")
    if entry.get("pref") == "medium":  # the IPv6 default router preference; no IR field
        ignored.add("pref")
    words += leftovers(entry, used, ignored)
    words += ["table", table_name(entry.get("table", "main")), "proto", PROTOCOL]
    return " ".join(words)


def listed(ns, family, what, convert):
    args = ["-N", "-j", family, what, "show"] + (["table", "all"] if what == "route" else [])
    out = checked(ns, *args)
    entries = json.loads(out) if out.strip() else []
    return [convert(e, family == "-6") for e in entries if str(e.get("protocol")) == PROTOCOL]


def comparable(rules, routes):
    return [l + "\n" for l in rules + sorted(routes)]


def expected_from(text):
    rules, routes = [], []
    for line in text.splitlines():
        if line.startswith("rule "):
            rules.append(line)
        elif line.strip() and not line.startswith("#"):
            routes.append(line)
    return comparable(rules, routes)


def main():
    args = sys.argv[1:]
    family = "-4"
    if args and args[0] == "-6":
        family, args = "-6", args[1:]
    if not args or args[0].startswith("-"):
        print("usage: routes_oracle.py [-6] RENDERING [NAME=ADDR/LEN,...]...", file=sys.stderr)
        return 2
    path, specs = args[0], args[1:]
    if os.geteuid() != 0:
        print("routes_oracle: skipped: needs root for a scratch network namespace",
              file=sys.stderr)
        return 77
    if shutil.which("ip") is None:
        print("routes_oracle: skipped: ip (iproute2) not installed", file=sys.stderr)
        return 77
    ns = "pcx-rt-%d" % os.getpid()
    rc, _, err = run(["ip", "netns", "add", ns])
    if rc != 0:
        print("routes_oracle: skipped: cannot create a network namespace:\n" + err,
              file=sys.stderr)
        return 77
    try:
        try:
            setup_interfaces(ns, specs)
            text = load(ns, family, path)
            actual = comparable(listed(ns, family, "rule", rule_line),
                                listed(ns, family, "route", route_line))
        except LoadError as e:
            print("routes_oracle: %s: %s" % (path, e), file=sys.stderr)
            return 2
        except (KeyError, ValueError) as e:  # ip printed something this converter cannot read
            print("routes_oracle: %s: unexpected ip -j output: %r" % (path, e), file=sys.stderr)
            return 2
        expected = expected_from(text)
        if expected == actual:
            return 0
        sys.stdout.writelines(difflib.unified_diff(expected, actual, path, "ip -j (listed)"))
        return 1
    finally:
        run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    sys.exit(main())
