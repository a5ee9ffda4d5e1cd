"""`dvcops dc forward`: DC ports on loopback addresses, for a person's browser (the root namespace still gets
no address or route in the DC subnet).

Listening sockets are made in this machine's namespace on 127.x addresses only; the connections to
the DC are made by one thread that joined the controller's namespace (a network namespace is per
thread), so every packet to the DC leaves from the controller, as every other DC command does.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
from dataclasses import dataclass

from lab.dc.errors import DCError


@dataclass(frozen=True)
class Mapping:
    listen: str
    listen_port: int
    host: str
    port: int


def parse_mapping(text: str, addresses: dict[str, str]) -> Mapping:
    """`127.0.0.1:8443=web-1:443` (host by name or DC address); the listen side must be loopback."""
    left, sep, right = text.partition("=")
    try:
        laddr, _, lport = left.rpartition(":")
        host, _, port = right.rpartition(":")
        if not sep or not ipaddress.ip_address(laddr).is_loopback:
            raise ValueError
        target = addresses.get(host, host)
        if target not in addresses.values():
            raise DCError(f"--map {text}: {host!r} is not a host of this DC ({', '.join(addresses)})")
        return Mapping(laddr, int(lport), target, int(port))
    except ValueError:
        raise DCError(f"--map {text!r}: expected LOOPBACK:PORT=HOST:PORT, e.g. 127.0.0.1:8443=web-1:443") from None


class Connector(threading.Thread):
    """Makes TCP connections from inside the controller namespace, on request."""

    def __init__(self, join: object) -> None:
        super().__init__(daemon=True)
        self.join_ns = join
        self.requests: queue.Queue[tuple[tuple[str, int], queue.Queue[socket.socket | Exception]]] = queue.Queue()

    def run(self) -> None:
        self.join_ns()  # type: ignore[operator]
        while True:
            target, reply = self.requests.get()
            try:
                reply.put(socket.create_connection(target, timeout=10))
            except OSError as exc:
                reply.put(exc)

    def connect(self, host: str, port: int) -> socket.socket:
        reply: queue.Queue[socket.socket | Exception] = queue.Queue()
        self.requests.put(((host, port), reply))
        got = reply.get(timeout=15)
        if isinstance(got, Exception):
            raise got
        return got


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(mappings: list[Mapping], connector: Connector, stop: threading.Event) -> None:
    """Relay every accepted loopback connection to its DC port until `stop` is set."""
    listeners = []
    for m in mappings:
        srv = socket.create_server((m.listen, m.listen_port), reuse_port=False)
        srv.settimeout(0.5)
        listeners.append((srv, m))

    def accept_loop(srv: socket.socket, m: Mapping) -> None:
        while not stop.is_set():
            try:
                client, _ = srv.accept()
            except TimeoutError:
                continue
            try:
                upstream = connector.connect(m.host, m.port)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        srv.close()

    threads = [threading.Thread(target=accept_loop, args=pair, daemon=True) for pair in listeners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
