"""An SMTP server that answers each connection from a script, for DESIGN §12's exact cases: a reply code at
any step, the connection dropped after the message arrived and before the 250, an error at QUIT, a reply
that comes too late. Plain sockets rather than aiosmtpd: aiosmtpd always answers the end of DATA, and these
cases are about what happens when it does not."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

DROP = "drop"  # close the connection instead of replying


@dataclass
class Script:
    """The reply at each step (`EHLO`, `MAIL`, `RCPT`, `DATA`, `END` (of DATA), `QUIT`); a step not named gets
    its usual success. `delay_s` is waited before every reply."""
    replies: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class ScriptedSmtp:
    def __init__(self, scripts: Iterator[Script]):
        self.scripts = scripts
        self.received: list[bytes] = []  # every message whose final dot arrived, whatever was answered
        self.connections = 0
        self.times: list[float] = []  # when each message arrived
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ScriptedSmtp:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn, next(self.scripts)), daemon=True).start()

    def _session(self, conn: socket.socket, script: Script) -> None:
        usual = {"EHLO": "250 scripted", "HELO": "250 scripted", "MAIL": "250 ok", "RCPT": "250 ok",
                 "DATA": "354 go on", "END": "250 queued", "QUIT": "221 bye", "RSET": "250 ok", "NOOP": "250 ok"}
        reader = conn.makefile("rb")

        def reply(step: str) -> bool:
            time.sleep(script.delay_s)
            answer = script.replies.get(step, usual.get(step, "500 what"))
            if answer == DROP:
                return False
            conn.sendall(answer.encode() + b"\r\n")
            return True

        try:
            if not reply_greeting(conn, script):
                return
            while line := reader.readline():
                step = line.decode("ascii", "replace").split(" ", 1)[0].split(":", 1)[0].strip().upper()
                if not reply(step) or step == "QUIT":
                    return
                if step == "DATA" and script.replies.get("DATA", "354").startswith("354"):
                    body = b""
                    while (chunk := reader.readline()) not in (b".\r\n", b""):
                        body += chunk
                    self.received.append(body)
                    self.times.append(time.monotonic())
                    if not reply("END"):
                        return
        except OSError:
            return
        finally:
            reader.close()
            conn.close()


def reply_greeting(conn: socket.socket, script: Script) -> bool:
    answer = script.replies.get("GREETING", "220 scripted ESMTP")
    if answer == DROP:
        return False
    conn.sendall(answer.encode() + b"\r\n")
    return True


def header(message: bytes, name: str) -> str:
    for line in message.decode("utf-8", "replace").split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""
