"""Studio: the page the runbook's smoke test opens.

It answers 200 at ``/`` only while automation's ``/healthz`` does, so "Studio returns 200"
really means the user-facing stack behind it is up, not merely that a web server started.
"""

from __future__ import annotations

import os
import signal
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTOMATION_URL = os.environ.get("AUTOMATION_URL", "http://localhost:3000").rstrip("/")
RELEASE = os.environ.get("JITERA_RELEASE", "unknown")


def automation_healthy() -> tuple[bool, str]:
    """Ask automation's /healthz; any error counts as unhealthy."""
    try:
        with urllib.request.urlopen(f"{AUTOMATION_URL}/healthz", timeout=3) as response:
            return response.status == 200, f"automation answered {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"automation unreachable: {exc}"


class Handler(BaseHTTPRequestHandler):
    """``/`` mirrors automation's health; ``/livez`` is the process's own liveness."""

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        if self.path == "/livez":
            self._reply(200, "ok\n")
            return
        if self.path != "/":
            self._reply(404, "not found\n")
            return
        healthy, detail = automation_healthy()
        body = f"<html><body><h1>Jitera Studio {RELEASE}</h1><p>{detail}</p></body></html>\n"
        self._reply(200 if healthy else 503, body, "text/html")

    def _reply(self, status: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Serve until killed."""
    # As PID 1 the process would ignore SIGTERM and every scale-down would wait out the
    # grace period: exit at once, like a real web server does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
