"""An XMPP user for the end-to-end tests (slixmpp, from target/python-tools):

    target/python-tools/bin/python tests/xmpp/client.py --jid alice@a.example --password P \
        --server 127.0.0.1:5222 [--send bob@b.example "hello"] [--expect bob@b.example "hello"] \
        [--timeout 10]

logs in over c2s (plain TCP on loopback; the tests' Prosody allows it there), says it is
online, then sends each --send message and waits for each --expect message (from that bare JID,
with that body), printing `online`, `sent <to>` and `received <from> <body>` lines on standard
output as they happen. Exits 0 when every expected message arrived within --timeout seconds,
1 otherwise (saying what is missing), 2 when it could not log in.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import slixmpp


class User(slixmpp.ClientXMPP):
    def __init__(self, jid: str, password: str, sends: list, expects: list):
        super().__init__(jid, password)
        self.sends = sends
        self.missing = [(sender, body) for sender, body in expects]
        self.done = asyncio.Event()
        self.failed_login = False
        self.add_event_handler("session_start", self.on_session)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("connection_failed", self.on_failed_auth)
        self.add_event_handler("no_auth", self.on_failed_auth)
        # PLAIN without TLS is what the tests' Prosody offers on loopback.
        self.register_plugin("feature_mechanisms")
        self.plugin["feature_mechanisms"].unencrypted_plain = True

    async def on_session(self, _event):
        self.send_presence()
        print("online", flush=True)
        for to, body in self.sends:
            self.send_message(mto=to, mbody=body, mtype="chat")
            print(f"sent {to}", flush=True)
        self.check_done()

    def on_message(self, message):
        sender, body = message["from"].bare, message["body"]
        print(f"received {sender} {body}", flush=True)
        if (sender, body) in self.missing:
            self.missing.remove((sender, body))
        self.check_done()

    def on_failed_auth(self, _event):
        # No login: a refused password, or no connection at all.
        self.failed_login = True
        self.done.set()

    def check_done(self):
        if not self.missing:
            self.done.set()


async def run(args) -> int:
    host, port = args.server.rsplit(":", 1)
    user = User(args.jid, args.password, args.send or [], args.expect or [])
    # Loopback only, no TLS: the tests' Prosody allows plain c2s there.
    user.enable_plaintext = True
    user.enable_starttls = False
    user.enable_direct_tls = False
    user.connect(host=host, port=int(port))
    try:
        await asyncio.wait_for(user.done.wait(), timeout=args.timeout)
    except asyncio.TimeoutError:
        pass
    user.disconnect()
    if user.failed_login:
        print("login failed (connection or credentials)", file=sys.stderr)
        return 2
    if user.missing:
        print(f"not received: {user.missing}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--server", required=True, help="host:port of the c2s listener")
    parser.add_argument("--send", nargs=2, action="append", metavar=("TO", "BODY"))
    parser.add_argument("--expect", nargs=2, action="append", metavar=("FROM", "BODY"))
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
