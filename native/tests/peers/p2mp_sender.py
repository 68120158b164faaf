#!/usr/bin/env python3
"""An independent P2MP-FTP sender, written from the protocol brief, for interop tests.

Usage: p2mp_sender.py --wire text|binary --file FILE --mss N [--timeout SECS]
                      [--max-timeouts N] [--drain SECS] HOST:PORT [HOST:PORT ...]

Sends FILE to every receiver, stop-and-wait: each segment goes to all receivers back to back,
then the sender waits for an ACK from each, with one timer per segment (cumulative: the whole
wait for one segment is one timeout). On expiry it prints "Timeout, sequence number = Y" and
resends the segment to the receivers that have not acknowledged it yet. The end of file is a
FIN (binary) or an empty DATA at the file's length (text). The file is read one segment at a
time.

After the end of file, it keeps listening for --drain seconds to count late replies, then
prints one last line, "SUMMARY " followed by JSON: per receiver, the sequence fields of every
datagram sent to it (in order), the number of datagrams it answered with, its retransmissions
and whether it finished. Exits 0 if every receiver finished, 1 otherwise.
"""

import argparse
import json
import socket
import sys
import time

from p2mp_checksums import rfc1071, text_sum

SEP = b"###"
TEXT_DATA = b"0101010101010101"
TEXT_ACK = b"1010101010101010"
BIN_DATA = 0x5555
BIN_ACK = 0xAAAA
BIN_FIN = 0xFFFF



class BinaryWire:
    """Sequence numbers count segments; the end of file is a FIN."""

    def __init__(self):
        self.seq = 0

    def data(self, payload):
        field = self.seq
        packet = field.to_bytes(4, "big") + rfc1071(payload).to_bytes(2, "big")
        packet += BIN_DATA.to_bytes(2, "big") + payload
        self.seq += 1
        return field, packet

    def end(self):
        return 0, (0).to_bytes(4, "big") + b"\x00\x00" + BIN_FIN.to_bytes(2, "big")

    @staticmethod
    def acknowledges(reply, field, packet):
        if packet[6:8] == BIN_FIN.to_bytes(2, "big"):
            return reply == packet  # a FIN is acknowledged by an identical FIN
        if len(reply) != 8 or reply[4:6] != b"\x00\x00":
            return False
        if int.from_bytes(reply[6:8], "big") != BIN_ACK:
            return False
        return int.from_bytes(reply[0:4], "big") == field


class TextWire:
    """Sequence fields are byte offsets; the end of file is an empty DATA at the length."""

    def __init__(self):
        self.offset = 0

    def data(self, payload):
        field = self.offset
        head = format(field, "032b").encode() + SEP + format(text_sum(payload), "016b").encode()
        self.offset += len(payload)
        return field, head + SEP + TEXT_DATA + SEP + payload

    def end(self):
        return self.data(b"")

    @staticmethod
    def acknowledges(reply, field, _packet):
        parts = reply.split(SEP)
        if len(parts) != 3 or parts[1] != b"0" * 16 or parts[2] != TEXT_ACK:
            return False
        if len(parts[0]) != 32 or any(c not in b"01" for c in parts[0]):
            return False
        return int(parts[0], 2) == field


class Receiver:
    def __init__(self, addr):
        self.addr = addr
        self.sent = []  # the sequence field of every datagram sent to it, in order
        self.replies = 0  # datagrams it sent back
        self.retransmissions = 0
        self.silent = 0  # consecutive timeouts without its ACK
        self.failed = False
        self.finished = False


class Sender:
    def __init__(self, sock, receivers, wire, timeout, max_timeouts):
        self.sock = sock
        self.receivers = receivers
        self.by_addr = {r.addr: r for r in receivers}
        self.wire = wire
        self.timeout = timeout
        self.max_timeouts = max_timeouts

    def send(self, field, packet, receiver):
        receiver.sent.append(field)
        self.sock.sendto(packet, receiver.addr)

    def receive(self, wait):
        """One datagram from a known receiver within `wait` seconds, or None."""
        self.sock.settimeout(max(wait, 0.0001))
        try:
            reply, addr = self.sock.recvfrom(65536)
        except socket.timeout:
            return None
        except ConnectionRefusedError:
            return None  # an ICMP error about a receiver: its timer will deal with it
        receiver = self.by_addr.get(addr)
        if receiver is None:
            return None
        receiver.replies += 1
        return receiver, reply

    def deliver(self, field, packet):
        """Sends one segment to every live receiver and waits until each has acknowledged it."""
        waiting = [r for r in self.receivers if not r.failed]
        for r in waiting:
            self.send(field, packet, r)
        deadline = time.monotonic() + self.timeout
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                print("Timeout, sequence number = %d" % field, flush=True)
                for r in list(waiting):
                    r.silent += 1
                    if r.silent >= self.max_timeouts:
                        r.failed = True
                        waiting.remove(r)
                for r in waiting:
                    r.retransmissions += 1
                    self.send(field, packet, r)
                deadline = time.monotonic() + self.timeout
                continue
            got = self.receive(left)
            if got is None:
                continue
            r, reply = got
            if r in waiting and self.wire.acknowledges(reply, field, packet):
                r.silent = 0
                waiting.remove(r)

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            self.receive(left)


def target(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return (socket.gethostbyname(host), int(port))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wire", choices=["text", "binary"], required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--mss", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--max-timeouts", type=int, default=20)
    ap.add_argument("--drain", type=float, default=0.2)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("servers", nargs="+", type=target)
    args = ap.parse_args()
    if args.mss < 1:
        ap.error("--mss must be at least 1")

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, 0))
    receivers = [Receiver(addr) for addr in args.servers]
    wire = TextWire() if args.wire == "text" else BinaryWire()
    sender = Sender(sock, receivers, wire, args.timeout, args.max_timeouts)
    with open(args.file, "rb") as f:
        while True:
            payload = f.read(args.mss)
            if not payload:
                break
            sender.deliver(*wire.data(payload))
    sender.deliver(*wire.end())
    for r in receivers:
        r.finished = not r.failed
    sender.drain(args.drain)

    summary = {
        "%s:%d" % r.addr: {
            "sent": r.sent,
            "replies": r.replies,
            "retransmissions": r.retransmissions,
            "finished": r.finished,
        }
        for r in receivers
    }
    print("SUMMARY " + json.dumps(summary, sort_keys=True), flush=True)
    return 0 if all(r.finished for r in receivers) else 1


if __name__ == "__main__":
    sys.exit(main())
