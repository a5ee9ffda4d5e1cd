"""Loopback servers the on-call tests run (prefix 127.0.90): an SMTP sink (aiosmtpd), a webhook listener and
a web service that a test switches between 200 and 503."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mail:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return str(part.get_content()) if part is not None else ""


@dataclass
class SmtpSink:
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.mails.append(Mail(list(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.to]


@contextmanager
def smtp_sink(host: str, port: int) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    controller = Controller(sink, hostname=host, port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Hooks:
    """JSON bodies POSTed to the listener, by path."""

    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received.get(path, []))


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return thread


@contextmanager
def webhook_listener(host: str, port: int) -> Iterator[Hooks]:
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with hooks.lock:
                hooks.received.setdefault(self.path, []).append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    _serve(server)
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Switch:
    up: bool = True


@contextmanager
def switchable_service(host: str, port: int) -> Iterator[Switch]:
    """A web service answering 200 while `up`, 503 otherwise (what a failing e-service looks like)."""
    switch = Switch()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = b"Dich vu cong\n" if switch.up else b"Bao tri\n"
            self.send_response(200 if switch.up else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    _serve(server)
    try:
        yield switch
    finally:
        server.shutdown()
        server.server_close()
