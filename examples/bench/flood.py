#!/usr/bin/env python3
"""One source floods Legate's external UDP listener while another sends at a normal rate.

    flood.py LEGATE_PORT RESPONDER_PORT SECONDS
    flood.py connections LEGATE_TCP_PORT RESPONDER_PORT COUNT

The flooder (127.0.0.2) sends MESSAGE requests, each a new transaction, as fast as it can for
SECONDS (bounded: at most 2 000 000 datagrams). The normal source (127.0.0.3) sends 20 MESSAGEs
a second to alice@acme.example and retransmits like a user agent (500 ms, six tries); the
responder on RESPONDER_PORT (the IM server Legate routes acme.example to) answers 200. Prints
one JSON line: datagrams flooded, normal requests sent, answered and failed. Loopback only.

With `connections`, 127.0.0.2 opens COUNT TCP connections to the external TCP listener and
holds them; the JSON line says how many Legate kept open and how many it closed at once, and
whether a partner connecting from 127.0.0.3 afterwards was answered 200.
"""

import json
import resource
import socket
import sys
import threading
import time

MAX_FLOOD = 2_000_000


def message(source, call, target):
    return (
        f"MESSAGE sip:{target} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source[0]}:{source[1]};branch=z9hG4bK-{call};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:bob@partner.example>;tag=p1\r\n"
        f"To: <sip:{target}>\r\n"
        f"Call-ID: {call}\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def responder(port, stop):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        text = data.decode("utf-8", "replace")
        if not text.startswith("MESSAGE"):
            continue
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        keep = [h for h in head if h.split(":", 1)[0].strip().lower()
                in ("via", "from", "to", "call-id", "cseq")]
        keep = [h + ";tag=r1" if h.lower().startswith("to:") else h for h in keep]
        answer = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
        sock.sendto(answer.encode(), peer)


def flooder(port, seconds, counts):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.2", 0))
    source = sock.getsockname()
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end and sent < MAX_FLOOD:
        for _ in range(100):
            try:
                sock.sendto(message(source, f"flood-{sent}", "nobody@nowhere.example"),
                            ("127.0.0.1", port))
            except OSError:
                pass
            sent += 1
    counts["flooded"] = sent


def normal(port, seconds, counts):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.3", 0))
    sock.settimeout(0.5)
    source = sock.getsockname()
    end = time.monotonic() + seconds
    n = answered = failed = 0
    while time.monotonic() < end:
        call = f"normal-{n}"
        request = message(source, call, "alice@acme.example")
        ok = False
        for _ in range(6):
            sock.sendto(request, ("127.0.0.1", port))
            try:
                while True:
                    data, _ = sock.recvfrom(65535)
                    line = data.split(b"\r\n", 1)[0]
                    if call.encode() in data and not line.startswith(b"SIP/2.0 1"):
                        ok = line.startswith(b"SIP/2.0 200")
                        break
                break
            except socket.timeout:
                continue
        n += 1
        answered += ok
        failed += not ok
        time.sleep(0.05)
    counts.update(normal_sent=n, normal_answered=answered, normal_failed=failed)


def connections(port, responder_port, count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    stop = threading.Event()
    answering = threading.Thread(target=responder, args=(responder_port, stop))
    answering.start()
    held = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.2", 0))
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        held.append(sock)
    time.sleep(1)  # Legate closes refused connections at accept; give it the time to.
    kept = closed = 0
    for sock in held:
        sock.setblocking(False)
        try:
            closed += sock.recv(1) == b""
        except BlockingIOError:
            kept += 1
        except OSError:
            closed += 1
    partner = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    partner.bind(("127.0.0.3", 0))
    partner.settimeout(5)
    partner.connect(("127.0.0.1", port))
    source = partner.getsockname()
    partner.sendall(message(source, "partner-1", "alice@acme.example")
                    .replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"))
    try:
        status = partner.recv(65535).split(b"\r\n", 1)[0].decode()
    except OSError as error:
        status = f"no answer: {error}"
    stop.set()
    answering.join()
    for sock in held:
        sock.close()
    print(json.dumps({"opened": len(held), "kept_open": kept, "closed_by_legate": closed,
                      "partner": status}))


def main():
    if sys.argv[1] == "connections":
        connections(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    port, responder_port, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    stop = threading.Event()
    counts = {}
    answering = threading.Thread(target=responder, args=(responder_port, stop))
    answering.start()
    threads = [threading.Thread(target=flooder, args=(port, seconds, counts)),
               threading.Thread(target=normal, args=(port, seconds, counts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    answering.join()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
