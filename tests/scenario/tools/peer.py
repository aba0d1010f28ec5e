#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# The scenario harness's traffic ends: `serve` answers every probe with who answered, the peer it
# saw and the local (original destination) address; `send` sends one probe and prints the answer.
import argparse
import json
import socket
import struct
import sys
import threading

IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = 20
IPV6_TRANSPARENT = 75
IPV6_RECVORIGDSTADDR = 74
SOL_IPV6 = socket.IPPROTO_IPV6  # Python has no SOL_IPV6


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def set_transparent(sock, fam):
    if fam == socket.AF_INET6:
        sock.setsockopt(SOL_IPV6, IPV6_TRANSPARENT, 1)
    else:
        sock.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)


def orig_dst(ancdata):
    """The original destination from IP(V6)_ORIGDSTADDR: where the client sent the datagram."""
    for level, kind, data in ancdata:
        if level == socket.SOL_IP and kind == IP_RECVORIGDSTADDR:
            port, = struct.unpack("!H", data[2:4])
            return socket.inet_ntop(socket.AF_INET, data[4:8]), port
        if level == SOL_IPV6 and kind == IPV6_RECVORIGDSTADDR:
            port, = struct.unpack("!H", data[2:4])
            return socket.inet_ntop(socket.AF_INET6, data[8:24]), port
    return None


class Server:
    def __init__(self, args):
        self.args = args
        self.fam = family_of(args.addr)
        self.lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8")

    def record(self, proto, peer, local, token):
        # Log and answer carry the same words, so a failure can say where each probe landed.
        line = "%s %s peer=%s local=%s:%d token=%s" % (
            self.args.name, proto, peer[0], local[0], local[1], token)
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()
        return line

    def socket(self, kind):
        s = socket.socket(self.fam, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.args.tproxy:
            set_transparent(s, self.fam)
        return s

    def udp(self):
        s = self.socket(socket.SOCK_DGRAM)
        if self.fam == socket.AF_INET6:
            s.setsockopt(SOL_IPV6, IPV6_RECVORIGDSTADDR, 1)
        else:
            s.setsockopt(socket.SOL_IP, IP_RECVORIGDSTADDR, 1)
        s.bind((self.args.addr, self.args.port))
        return s

    def serve_udp(self, s):
        while True:
            data, anc, _flags, peer = s.recvmsg(2048, 1024)
            local = orig_dst(anc) or s.getsockname()[:2]
            token = data.decode(errors="replace").split()[-1] if data.split() else "?"
            reply = self.record("udp", peer, local, token).encode()
            if self.args.tproxy and tuple(local) != tuple(s.getsockname()[:2]):
                # A transparent proxy answers from the address the client wrote to.
                out = self.socket(socket.SOCK_DGRAM)
                out.bind(local)
                out.sendto(reply, peer)
                out.close()
            else:
                s.sendto(reply, peer)

    def tcp(self):
        s = self.socket(socket.SOCK_STREAM)
        s.bind((self.args.addr, self.args.port))
        s.listen(16)
        return s

    def serve_tcp(self, s):
        while True:
            conn, peer = s.accept()
            threading.Thread(target=self.answer_tcp, args=(conn, peer), daemon=True).start()

    def answer_tcp(self, conn, peer):
        conn.settimeout(3)
        try:
            data = b""
            while b"\n" not in data:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                data += chunk
            token = data.decode(errors="replace").split()[-1] if data.split() else "?"
            conn.sendall(self.record("tcp", peer, conn.getsockname()[:2], token).encode())
        except OSError:
            pass
        finally:
            conn.close()


def serve(args):
    server = Server(args)
    workers = []
    for proto in args.protos.split(","):
        if proto == "udp":
            workers.append((server.serve_udp, server.udp()))
        elif proto == "tcp":
            workers.append((server.serve_tcp, server.tcp()))
        else:
            sys.exit("unknown protocol " + proto)
    for fn, sock in workers:
        threading.Thread(target=fn, args=(sock,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def send(args):
    fam = family_of(args.addr)
    kind = socket.SOCK_DGRAM if args.proto == "udp" else socket.SOCK_STREAM
    result = {}
    try:
        with socket.socket(fam, kind) as s:
            s.settimeout(args.timeout)
            probe = ("probe %s\n" % args.token).encode()
            if args.proto == "udp":
                s.sendto(probe, (args.addr, args.port))
                data, src = s.recvfrom(2048)
            else:
                s.connect((args.addr, args.port))
                s.sendall(probe)
                data = b""
                while True:
                    chunk = s.recv(2048)
                    if not chunk:
                        break
                    data += chunk
                src = s.getpeername()
            result = {"reply": data.decode(errors="replace"), "from": "%s:%d" % src[:2]}
    except OSError as e:
        result = {"error": str(e) or type(e).__name__}
    print(json.dumps(result), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("name")
    s.add_argument("addr")
    s.add_argument("port", type=int)
    s.add_argument("protos")
    s.add_argument("--tproxy", action="store_true")
    s.add_argument("--log", required=True)
    c = sub.add_parser("send")
    c.add_argument("proto", choices=["udp", "tcp"])
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("token")
    c.add_argument("--timeout", type=float, default=3.0)
    args = p.parse_args()
    serve(args) if args.cmd == "serve" else send(args)


if __name__ == "__main__":
    main()
