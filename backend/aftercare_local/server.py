"""One origin for the built site and the API, as CloudFront gives them in AWS.

`/api/...` goes to the Chalice app through Chalice's own local gateway (the
stage name `api` is the first path segment, as with API Gateway); everything
else is a file of the built site.
"""

from __future__ import annotations

import base64
import functools
import gzip
import importlib
import io
import sys
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

from aftercare_local.paths import BACKEND

API_PREFIX = "/api"
# What CloudFront compresses for browsers that accept it (the site's text files).
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".xml", ".svg", ".txt"}
# API Gateway refuses payloads over 10 MB before the function sees them.
GATEWAY_MAX_BODY = 10 * 1024 * 1024
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def load_app() -> Any:
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    return importlib.import_module("app").app


class OneOriginHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    gateway: LocalGateway

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Paths only: bodies and query strings never reach the log.
        sys.stderr.write(f"{self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}\n")

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def send_head(self) -> Any:
        """Static text files gzip-compressed when the browser accepts it, as CloudFront does."""
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        accepts_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "")
        if not accepts_gzip or path.suffix not in COMPRESSIBLE or not path.is_file():
            return super().send_head()
        body = gzip.compress(path.read_bytes(), mtime=0)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def _is_api(self) -> bool:
        return self.path == API_PREFIX or self.path.startswith(API_PREFIX + "/") or \
            self.path.startswith(API_PREFIX + "?")

    def do_GET(self) -> None:
        if self._is_api():
            self._to_api()
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._is_api():
            self._to_api()
        else:
            super().do_HEAD()

    def do_POST(self) -> None:
        if self._is_api():
            self._to_api()
        else:
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        not_found_page = Path(self.directory) / "404.html"
        if code == HTTPStatus.NOT_FOUND and not_found_page.exists():
            body = not_found_page.read_bytes()
            self.send_response(code)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def _to_api(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > GATEWAY_MAX_BODY:
            self.close_connection = True
            self._reply(413, {"Content-Type": "application/json"}, b'{"message": "Request too large"}')
            return
        body = self.rfile.read(length) if length else None
        path = self.path[len(API_PREFIX):] or "/"
        if path.startswith("?"):
            path = "/" + path
        try:
            response = self.gateway.handle_request(
                method=self.command, path=path, headers=dict(self.headers), body=body
            )
        except LocalGatewayException as error:
            self._reply(error.CODE, dict(error.headers), error.body or b"")
            return
        headers = dict(response["headers"])
        headers.update(response.get("multiValueHeaders") or {})
        payload = response.get("body") or b""
        if response.get("isBase64Encoded"):
            payload = base64.b64decode(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        self._reply(response["statusCode"], headers, payload)

    def _reply(self, status: int, headers: dict[str, Any], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() == "content-length":
                continue
            for single in value if isinstance(value, list) else [value]:
                self.send_header(name, str(single))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def make_server(port: int, site_dir: Path, app: Any) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 only; port 0 picks a free one."""
    gateway = LocalGateway(app, Config.create(lambda_timeout=15, lambda_memory_size=512))
    handler = type("Handler", (OneOriginHandler,), {"gateway": gateway})
    server = ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(handler, directory=str(site_dir))
    )
    server.daemon_threads = True
    return server
