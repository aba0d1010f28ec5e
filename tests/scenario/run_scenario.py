#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# The scenario harness: builds the network of one tests/scenario/*.scn file out of scratch
# namespaces and veth pairs, applies policyc with one backend and checks every `expect` with real
# packets. The statements are described in tests/scenario/README.md.
# usage: run_scenario.py POLICYC FILE.scn legacy|nft      (exit 0 ok, 1 failed, 77 skipped)
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PEER = os.path.join(HERE, "tools", "peer.py")
PYTHON = "/usr/bin/python3"
TOTAL_SECONDS = 90  # every wait below has its own, shorter timeout
CMD_SECONDS = 20
PROBE_SECONDS = 3.0
NOTHING_SECONDS = 1.0  # how long a probe that must not be answered waits


class Failure(Exception):
    pass


class Timeout(Exception):
    pass


def run(argv, check=True, timeout=CMD_SECONDS, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise Failure("command failed (exit %d): %s\n%s%s" % (
            p.returncode, shlex.join(argv), p.stdout, p.stderr))
    return p


class Harness:
    def __init__(self, policyc, scenario, backend):
        self.policyc = policyc
        self.scenario = scenario
        self.backend = backend
        self.tag = "pcs%d" % os.getpid()
        self.namespaces = {}  # scenario name -> kernel name
        self.servers = []  # Popen of every `serve`
        self.server_argv = []
        self.logs = []  # their log files
        self.policy = None
        self.work = tempfile.mkdtemp(prefix="policyc-scen-")
        # apply keeps the state it replaced for --rollback: here, not in /var/lib/policyc
        os.environ["POLICYC_STATE_DIR"] = os.path.join(self.work, "state")
        self.failures = 0
        self.lineno = 0
        self.known_defect = None  # the failure a `known-defect:` statement must still show

    # -- namespaces ------------------------------------------------------------------------

    def ns(self, name):
        if name not in self.namespaces:
            raise Failure("unknown namespace %r (declare it with `netns`)" % name)
        return self.namespaces[name]

    def in_ns(self, name, argv, uid=None):
        prefix = ["ip", "netns", "exec", self.ns(name)]
        if uid is not None:
            prefix += ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups"]
        return prefix + argv

    def cleanup(self):
        for p in self.servers:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        for real in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", real], capture_output=True, timeout=CMD_SECONDS)
        subprocess.run(["rm", "-rf", self.work], timeout=CMD_SECONDS)

    # -- statements --------------------------------------------------------------------------

    def st_netns(self, args):
        for name in args:
            real = "%s-%s" % (self.tag, name)
            run(["ip", "netns", "add", real])
            self.namespaces[name] = real
            run(["ip", "-n", real, "link", "set", "lo", "up"])

    def add_addrs(self, ns, dev, addrs):
        for a in addrs:
            extra = ["nodad"] if ":" in a else []  # no 2 s duplicate address detection wait
            run(["ip", "-n", self.ns(ns), "addr", "add", a, "dev", dev] + extra)

    def st_link(self, args):
        if "--" not in args:
            raise Failure("link: want NS IF ADDR... -- NS IF ADDR...")
        i = args.index("--")
        (ns1, if1, *addr1), (ns2, if2, *addr2) = args[:i], args[i + 1:]
        run(["ip", "-n", self.ns(ns1), "link", "add", if1, "type", "veth", "peer", "name", if2,
             "netns", self.ns(ns2)])
        for ns, dev, addrs in ((ns1, if1, addr1), (ns2, if2, addr2)):
            self.add_addrs(ns, dev, addrs)
            run(["ip", "-n", self.ns(ns), "link", "set", dev, "up"])

    def st_addr(self, args):
        self.add_addrs(args[0], args[1], args[2:])

    def st_ip(self, args):
        run(["ip", "-n", self.ns(args[0])] + args[1:])

    def st_sysctl(self, args):
        for kv in args[1:]:
            run(self.in_ns(args[0], ["sysctl", "-q", "-w", kv]))

    def st_sh(self, args):
        run(self.in_ns(args[0], ["sh", "-ec", " ".join(args[1:])]))

    def st_policy(self, args):
        self.policy = self.path(args[0])

    def path(self, name):
        for base in (os.path.dirname(self.scenario), REPO):
            if os.path.exists(os.path.join(base, name)):
                return os.path.join(base, name)
        raise Failure("no such file: %s" % name)

    def st_apply(self, args):
        ns, host = args
        if not self.policy:
            raise Failure("apply before `policy`")
        # nsenter, not `ip netns exec`: policyc must see the machine's real mounts (cgroup2)
        run(["nsenter", "--net=/run/netns/" + self.ns(ns), self.policyc, "apply", self.policy,
             "--host", host, "--backend", self.backend])
        print("  applied %s --host %s --backend %s in %s" % (
            os.path.basename(self.policy), host, self.backend, ns))

    def st_serve(self, args):
        ns, uid, args = self.take_uid(args)
        name, addr, port, protos, *flags = args
        log = os.path.join(self.work, "%s-%d.log" % (name, len(self.logs)))
        open(log, "w").close()
        if uid is not None:  # a server running as another uid writes its own log
            os.chmod(self.work, 0o711)
            os.chown(log, int(uid), int(uid))
        argv = [PYTHON, PEER, "serve", name, addr, port, protos, "--log", log]
        argv += ["--tproxy"] if "tproxy" in flags else []
        p = subprocess.Popen(self.in_ns(ns, argv, uid), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.servers.append(p)
        self.server_argv.append(argv)
        self.logs.append(log)
        ready, _, _ = select.select([p.stdout], [], [], 5)
        if not ready or p.stdout.readline().strip() != "ready":
            p.kill()
            raise Failure("server %s in %s did not start: %s" % (name, ns, p.stderr.read()))

    @staticmethod
    def take_uid(args):
        ns, rest = args[0], args[1:]
        if rest and rest[0].startswith("uid="):
            return ns, rest[0][4:], rest[1:]
        return ns, None, rest

    def st_expect(self, args):
        ns, uid, args = self.take_uid(args)
        if "->" not in args:
            raise Failure("expect: want NS [uid=N] PROTO ADDR PORT -> NAME key=value... | nothing")
        i = args.index("->")
        (proto, addr, port), want = args[:i], args[i + 1:]
        nothing = want == ["nothing"]
        token = "L%d-%s" % (self.lineno, self.backend)
        argv = [PYTHON, PEER, "send", proto, addr, port, token,
                "--timeout", str(NOTHING_SECONDS if nothing else PROBE_SECONDS)]
        out = run(self.in_ns(ns, argv, uid), timeout=PROBE_SECONDS + 5).stdout
        got = json.loads(out.strip().splitlines()[-1])
        who = "%s from %s (uid %s) to %s port %s" % (proto, ns, uid or "0", addr, port)
        problem = self.judge(got, want, nothing, addr, port)
        if problem:
            self.fail("%s: %s\n    where it went: %s" % (who, problem, self.landed(token)))
        else:
            print("  ok: %s -> %s" % (who, "nothing received it" if nothing else got["reply"]))

    @staticmethod
    def judge(got, want, nothing, addr, port):
        if nothing:
            return "it was answered: %s" % got["reply"] if "reply" in got else None
        if "reply" not in got:
            return "no answer (%s); want an answer by %s" % (got["error"], " ".join(want))
        words = got["reply"].split()
        fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
        if words[0] != want[0]:
            return "answered by %s, want %s: %s" % (words[0], want[0], got["reply"])
        for kv in want[1:]:
            k, v = kv.split("=", 1)
            if fields.get(k) != v:
                return "%s is %s, want %s: %s" % (k, fields.get(k), v, got["reply"])
        sent_to = ("[%s]:%s" if ":" in addr else "%s:%s") % (addr, port)
        if got["from"] != "%s:%s" % (addr, port) and got["from"] != sent_to:
            return "the answer came from %s, not from %s" % (got["from"], sent_to)
        return None

    def landed(self, token):
        seen = []
        for log in self.logs:
            if os.path.exists(log):
                with open(log, encoding="utf-8") as f:
                    seen += ["received by " + ln.strip() for ln in f if ln.split()[-1:] ==
                             ["token=" + token]]
        return "; ".join(seen) or "no server received it"

    def st_count(self, args):
        ns, table, chain, needle, want = args
        argv = ["iptables-legacy", "-w", "5", "-t", table, "-L", chain, "-v", "-x", "-n"]
        listing = run(self.in_ns(ns, argv)).stdout
        lines = [ln for ln in listing.splitlines()[2:] if needle in ln]
        if len(lines) != 1:
            raise Failure("count: %d rules of %s %s contain %r:\n%s" % (
                len(lines), table, chain, needle, listing))
        got = lines[0].split()[0]
        what = "%s: %s %s rule with %r" % (ns, table, chain, needle)
        if got != want:
            self.fail("%s counted %s packets, want %s\n%s" % (what, got, want, listing))
        else:
            print("  ok: %s counted %s packets" % (what, got))

    def st_linkstat(self, args):
        ns, dev, key, want = args
        info = json.loads(run(["ip", "-n", self.ns(ns), "-j", "-s", "link", "show", dev]).stdout)
        tx = info[0]["stats64"]["tx"]
        got = str(tx.get(key))
        if got != want:
            self.fail("%s: %s tx %s is %s, want %s (tx stats %s)" % (ns, dev, key, got, want, tx))
        else:
            print("  ok: %s: %s tx %s = %s" % (ns, dev, key, got))

    def st_lint(self, args):
        file, mode, code = args  # FILE has|lacks CODE
        p = run([self.policyc, "lint", self.path(file), "--format", "json"], check=False)
        codes = [f["code"] for f in json.loads(p.stdout).get("findings", [])]
        if (code in codes) != (mode == "has"):
            self.fail("policyc lint %s: findings %s, want it to %s %s" % (file, codes, mode, code))
        else:
            print("  ok: policyc lint %s %s %s" % (file, mode, code))

    def st_livelint(self, args):
        ns, mode, code = args  # NS has|lacks CODE: `policyc lint --live` of that namespace
        p = run(["nsenter", "--net=/run/netns/" + self.ns(ns), self.policyc, "lint", "--live",
                 "--format", "json"], check=False)
        codes = [f["code"] for f in json.loads(p.stdout).get("findings", [])]
        if (code in codes) != (mode == "has"):
            self.fail("policyc lint --live in %s: findings %s, want it to %s %s"
                      % (ns, codes, mode, code))
        else:
            print("  ok: policyc lint --live in %s %s %s" % (ns, mode, code))

    def st_stop(self, args):
        for name in args:
            for p, argv in zip(self.servers, self.server_argv):
                if argv[argv.index("serve") + 1] == name and p.poll() is None:
                    p.kill()
                    p.wait(timeout=5)

    def st_phase(self, args):
        print("- " + " ".join(args))

    def fail(self, message):
        if self.known_defect is not None:
            # still failing the way the scenario file documents: reported, not counted
            self.known_defect.append(message)
            print("KNOWN DEFECT %s:%d: %s" % (os.path.basename(self.scenario), self.lineno,
                                             message))
            return
        self.failures += 1
        print("FAIL %s:%d: %s" % (os.path.basename(self.scenario), self.lineno, message))

    # -- driver ------------------------------------------------------------------------------

    def statements(self):
        """(first line number, text) of every statement; a trailing backslash continues it."""
        with open(self.scenario, encoding="utf-8") as f:
            lines = f.read().splitlines()
        start, text = None, ""
        for n, line in enumerate(lines, 1):
            start = start or n
            if line.endswith("\\"):
                text += line[:-1] + " "
                continue
            yield start, text + line
            start, text = None, ""
        if text:
            yield start, text

    def execute(self):
        for self.lineno, line in self.statements():
            if line.split()[:1] == ["phase"]:  # free text, apostrophes included
                self.st_phase(line.split()[1:])
                continue
            try:
                words = shlex.split(line, comments=True)
            except ValueError as e:
                raise Failure("line %d: %s" % (self.lineno, e)) from None
            if words and words[0] in ("legacy:", "nft:"):
                if words[0][:-1] != self.backend:
                    continue
                words = words[1:]
            if not words:
                continue
            self.known_defect = [] if words[0] == "known-defect:" else None
            words = words[1:] if self.known_defect is not None else words
            handler = getattr(self, "st_" + words[0], None)
            if handler is None:
                raise Failure("line %d: unknown statement %r" % (self.lineno, words[0]))
            try:
                handler(words[1:])
            except Failure as e:
                raise Failure("line %d: %s" % (self.lineno, e)) from None
            except (ValueError, IndexError) as e:
                raise Failure("line %d: malformed %r: %s" % (self.lineno, words[0], e)) from None
            if self.known_defect == []:
                self.known_defect = None
                self.fail("the known defect is gone: make this an ordinary statement")


def skip_reason():
    if os.geteuid() != 0:
        return "not root: scenario tests need root"
    probe = "pcs-probe-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "cannot create network namespaces here"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def on_timeout(_signum, _frame):
    raise Timeout("after %d s" % TOTAL_SECONDS)


def on_term(_signum, _frame):
    raise KeyboardInterrupt()


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("legacy", "nft"):
        sys.exit("usage: run_scenario.py POLICYC FILE.scn legacy|nft")
    reason = skip_reason()
    if reason:
        print("SKIP: " + reason)
        return 77
    h = Harness(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3])
    # Namespaces go away on every exit the process sees: failure, timeout, ^C, TERM.
    signal.signal(signal.SIGALRM, on_timeout)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(TOTAL_SECONDS)
    print("kernel %s, backend %s" % (os.uname().release, h.backend))
    try:
        h.execute()
    except Failure as e:
        h.fail(str(e))
    except (Timeout, subprocess.TimeoutExpired) as e:
        h.fail("timed out: %s" % e)
    except KeyboardInterrupt:
        h.fail("interrupted by a signal")
    finally:
        signal.alarm(0)
        h.cleanup()
    name = os.path.basename(sys.argv[2])
    print("%s: %s with --backend %s" % (name, "FAILED" if h.failures else "passed", h.backend))
    return 1 if h.failures else 0


if __name__ == "__main__":
    sys.exit(main())
