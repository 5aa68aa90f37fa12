"""A small SMTP server on loopback for the outbox tests: keeps what it receives, and can be
told to answer a recipient with a given code (421: try later, 550: refused)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Inbox:
    messages: list[tuple[str, list[str], str]] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)  # recipient -> SMTP code


class _Handler(socketserver.StreamRequestHandler):
    inbox: Inbox

    def _say(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())
        self.wfile.flush()

    def handle(self) -> None:
        self._say("220 test ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in {"EHLO", "HELO"}:
                self._say("250 test")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip("<> "), []
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip("<> ")
                code = self.inbox.refuse.get(address)
                if code:
                    self._say(f"{code} not now" if code < 500 else f"{code} no such user")
                    continue
                recipients.append(address)
            elif verb == "DATA":
                self._say("354 go on")
                data = []
                while (body := self.rfile.readline().decode()) not in {".\r\n", ""}:
                    data.append(body)
                self.inbox.messages.append((sender, recipients, "".join(data)))
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")
                continue
            if verb in {"MAIL", "RCPT", "DATA"}:
                self._say("250 ok")


@contextmanager
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    handler = type("Handler", (_Handler,), {"inbox": inbox})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1], inbox
        finally:
            server.shutdown()
