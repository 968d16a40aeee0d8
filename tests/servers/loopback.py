"""Loopback HTTP servers for the test stand-ins, each serving from its own daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler], port: int = 0) -> ThreadingHTTPServer:
    """Serve `handler` on 127.0.0.1:`port` (0: any free port) until stop(server).

    Request threads are daemons, so a request a test leaves hanging never holds up the
    shutdown, and a short poll interval keeps stop() quick.
    """
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer | None) -> None:
    """Stop serving and free the port; nothing happens for a server that never started."""
    if server is not None:
        server.shutdown()
        server.server_close()
