#!/usr/bin/env python3
"""An independent P2MP-FTP receiver, written from the protocol brief, for interop tests.

Usage: p2mp_receiver.py --wire text|binary --out FILE [--bind IP] [--port N] [--p P] [--seed S]

Prints "READY <port>" on stdout once bound, then receives one file, writes it to FILE, keeps
answering retransmitted end-of-file datagrams until it has heard nothing for --linger seconds,
and exits 0. Exits 1 if nothing arrives for --idle seconds mid-transfer.
"""

import argparse
import random
import socket
import sys

from p2mp_checksums import rfc1071, text_sum

SEP = b"###"
TEXT_DATA = b"0101010101010101"
TEXT_ACK = b"1010101010101010"



def bits(field):
    if not field or any(c not in b"01" for c in field):
        return None
    return int(field, 2)


class TextPeer:
    def __init__(self):
        self.expected = 0
        self.done = False

    def handle(self, data, out):
        """Returns the reply (or None)."""
        parts = data.split(SEP, 3)
        if len(parts) != 4 or len(parts[0]) != 32 or len(parts[1]) != 16:
            return None
        offset, carried, kind = bits(parts[0]), bits(parts[1]), parts[2]
        payload = parts[3]
        if offset is None or carried is None or kind != TEXT_DATA:
            return None
        if text_sum(payload) != carried:
            return None
        if offset == self.expected and not self.done:
            if payload:
                out.write(payload)
                self.expected += len(payload)
            else:
                self.done = True
        elif not payload and offset != self.expected:
            return None  # an end of file at the wrong place: not ours to acknowledge
        return format(offset, "032b").encode() + SEP + b"0" * 16 + SEP + TEXT_ACK


class BinaryPeer:
    def __init__(self):
        self.expected = 0
        self.done = False

    def handle(self, data, out):
        if len(data) < 8:
            return None
        seq = int.from_bytes(data[0:4], "big")
        check = int.from_bytes(data[4:6], "big")
        kind = int.from_bytes(data[6:8], "big")
        if kind == 0xFFFF and len(data) == 8 and seq == 0 and check == 0:
            self.done = True
            return bytes(data)
        if kind != 0x5555 or len(data) == 8:
            return None
        payload = data[8:]
        if rfc1071(payload) != check:
            return None
        if seq == self.expected and not self.done:
            out.write(payload)
            self.expected += 1
            return seq.to_bytes(4, "big") + b"\x00\x00\xaa\xaa"
        if self.expected == 0:
            return None
        last = self.expected - 1
        return last.to_bytes(4, "big") + b"\x00\x00\xaa\xaa"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wire", choices=["text", "binary"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--p", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--linger", type=float, default=1.0)
    ap.add_argument("--idle", type=float, default=20.0)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    print("READY %d" % sock.getsockname()[1], flush=True)
    peer = TextPeer() if args.wire == "text" else BinaryPeer()
    sender = None
    with open(args.out, "wb") as out:
        while True:
            sock.settimeout(args.linger if peer.done else args.idle)
            try:
                data, addr = sock.recvfrom(65536)
            except socket.timeout:
                if peer.done:
                    return 0
                print("idle timeout", file=sys.stderr)
                return 1
            if rng.random() < args.p:
                continue  # the loss service
            if sender is not None and addr != sender:
                continue
            reply = peer.handle(data, out)
            if reply is not None:
                sender = addr
                sock.sendto(reply, addr)


if __name__ == "__main__":
    sys.exit(main())
