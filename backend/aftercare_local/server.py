"""One origin for the built site and the API, as CloudFront gives them in AWS.

`/api/...` goes to the Chalice app through Chalice's own local gateway (the
stage name `api` is the first path segment, as with API Gateway); everything
else is a file of the built site. Every answer carries the security headers
of the CloudFront response headers policy in infra/resources.yaml (read from
the template, so there is one definition), and each API request gets the
origin secret header CloudFront adds (chalicelib.web.origin).
"""

from __future__ import annotations

import base64
import functools
import gzip
import importlib
import importlib.util
import io
import json
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException
from chalicelib.console.door import Console
from chalicelib.console.exchange import Request as ConsoleRequest
from chalicelib.console.function import console_from, in_a_thread
from chalicelib.settings import ConfigurationError

from aftercare_local import template
from aftercare_local.paths import BACKEND, CHALICE_CONFIG, INFRA_TEMPLATE, REPO

API_PREFIX = "/api"
STAFF_PREFIX = "/staff"
# A language's folder of the site (/hi/), which holds that language's own 404.html.
LANGUAGE_FOLDER = re.compile(r"[a-z]{2}(?:-[A-Za-z]{2,4})?")
# What CloudFront compresses for browsers that accept it (the site's text files).
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".xml", ".svg", ".txt"}
# API Gateway refuses payloads over 10 MB before the function sees them.
GATEWAY_MAX_BODY = 10 * 1024 * 1024
# Connections the kernel queues before accept(); the standard library's 5 resets
# clients as soon as a few dozen connect at once.
LISTEN_BACKLOG = 1024
# API requests handled at once: with two, one computes while the other waits
# on DynamoDB; more only contend for the interpreter's lock and DynamoDB Local
# (measured at 32 clients: 1 slot 248/s, 2 slots 298-360/s, 3 slots 243/s).
API_SLOTS = 2
# What a refused request is told: how soon trying again is likely to find a slot.
BUSY_RETRY_SECONDS = 5
BUSY_MESSAGE = "The service is busy. Please try again in a few seconds."
JSON_TYPE = "application/json"
# What the API Gateway proxy integration sends when the function names no type.
DEFAULT_API_CONTENT_TYPE = JSON_TYPE
ORIGIN_HEADER = "X-Aftercare-Origin"  # chalicelib.web.origin.ORIGIN_HEADER, read without importing the app
SITE_METHODS = ("GET", "HEAD")


def load_app() -> Any:
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    return importlib.import_module("app").app


def _deploy_module() -> Any:
    """infra/deploy.py, whose packaging adds the site's script hashes to the policy."""
    if "aftercare_deploy" not in sys.modules:
        spec = importlib.util.spec_from_file_location("aftercare_deploy", REPO / "infra" / "deploy.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["aftercare_deploy"] = module
        spec.loader.exec_module(module)
    return sys.modules["aftercare_deploy"]


def security_headers(
    resources: Mapping[str, Any], site_dir: Path | None = None, upload_origin: str | None = None
) -> dict[str, str]:
    """The headers CloudFront's SiteHeadersPolicy adds to every answer, as header: value.

    With a built site, the Content-Security-Policy gets its inline scripts'
    hashes as `make package` gives them; with `upload_origin` (the local S3
    engine) the browser may post files there, as it may to the bucket in AWS.
    """
    config = resources["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config.get("SecurityHeadersConfig", {})
    headers: dict[str, str] = {}
    if "StrictTransportSecurity" in security:
        headers["Strict-Transport-Security"] = _hsts(security["StrictTransportSecurity"])
    if "ContentSecurityPolicy" in security:
        csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        if site_dir is not None and (site_dir / "index.html").is_file():
            deploy = _deploy_module()
            csp = deploy.with_script_hashes(csp, deploy.inline_script_hashes(site_dir))
        if upload_origin:
            csp = csp.replace("connect-src 'self'", f"connect-src 'self' {upload_origin}", 1)
        headers["Content-Security-Policy"] = csp
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if "FrameOptions" in security:
        headers["X-Frame-Options"] = security["FrameOptions"]["FrameOption"]
    if "ReferrerPolicy" in security:
        headers["Referrer-Policy"] = security["ReferrerPolicy"]["ReferrerPolicy"]
    if "XSSProtection" in security:
        xss = security["XSSProtection"]
        headers["X-XSS-Protection"] = ("1" if xss.get("Protection") else "0") + (
            "; mode=block" if xss.get("ModeBlock") else ""
        )
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[item["Header"]] = str(item["Value"])
    return headers


def _hsts(hsts: Mapping[str, Any]) -> str:
    value = f"max-age={hsts['AccessControlMaxAgeSec']}"
    if hsts.get("IncludeSubdomains"):
        value += "; includeSubDomains"
    if hsts.get("Preload"):
        value += "; preload"
    return value


BAD_CHUNKS = "The request's chunks are not valid."


class BadBody(Exception):
    """The request's body cannot be read as HTTP/1.1 frames it; the connection must close."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class OneOriginHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    console: Callable[[], Console | None]
    gateway: LocalGateway
    headers_for_every_answer: dict[str, str]
    origin_secret: str | None
    api_slots: threading.BoundedSemaphore
    queue_seconds: float
    log_requests: bool

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.log_requests:
            super().log_request(code, size)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Paths only: bodies and query strings never reach the log.
        path = (getattr(self, "path", "") or "").split("?")[0]
        sys.stderr.write(f"{self.command} {path} {args[1] if len(args) > 1 else ''}\n")

    def end_headers(self) -> None:
        if not getattr(self, "_own_headers", False):
            for name, value in self.headers_for_every_answer.items():
                self.send_header(name, value)
        self._own_headers = False
        super().end_headers()

    def send_head(self) -> Any:
        """Static text files gzip-compressed when the browser accepts it, as CloudFront does."""
        if "\x00" in unquote(self.path.split("?")[0]):
            # A NUL (`%00`) would make the file system calls raise mid-answer.
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
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

    def _is_staff(self) -> bool:
        path = self.path.split("?")[0]
        return path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")

    def _is_api(self) -> bool:
        return self.path == API_PREFIX or self.path.startswith(API_PREFIX + "/") or \
            self.path.startswith(API_PREFIX + "?")

    def _has_body(self) -> bool:
        return bool(self.headers.get("Transfer-Encoding")) or \
            (self.headers.get("Content-Length") or "0").strip() not in ("", "0")

    def do_GET(self) -> None:
        if self._is_staff():
            self._to_console()
            return
        if self._is_api():
            self._to_api()
            return
        if self._has_body():
            # The site never reads a body; what follows it is not a request.
            self.close_connection = True
        super().do_GET()

    def do_HEAD(self) -> None:
        if self._is_staff():
            self._to_console()
            return
        if self._is_api():
            self._to_api()
            return
        if self._has_body():
            self.close_connection = True
        super().do_HEAD()

    def do_POST(self) -> None:
        if self._is_staff():
            self._to_console()
        elif self._is_api():
            self._to_api()
        else:
            self._method_not_allowed(SITE_METHODS)

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def __getattr__(self, name: str) -> Any:
        # TRACE, CONNECT and made-up methods: CloudFront and API Gateway serve
        # none of them, and the answer keeps the API's error shape (not a bare 501).
        if name.startswith("do_"):
            return self._other_method
        raise AttributeError(name)

    def _other_method(self) -> None:
        self._method_not_allowed(("GET", "POST") if self._is_api() else SITE_METHODS)

    def _method_not_allowed(self, allowed: tuple[str, ...]) -> None:
        if self._has_body():
            self.close_connection = True
        body = b'{"message": "This method is not allowed here."}'
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED,
                    {"Content-Type": JSON_TYPE, "Allow": ", ".join(allowed)}, body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The site's 404 page for a missing file; anything else in the API's error shape."""
        not_found_page = self._not_found_page()
        if code == HTTPStatus.NOT_FOUND and not_found_page.exists():
            body = not_found_page.read_bytes()
            content_type = "text/html; charset=utf-8"
        else:
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            body = json.dumps({"message": f"{phrase}."}).encode()
            content_type = JSON_TYPE
        if code >= 400 and code != HTTPStatus.NOT_FOUND:
            # Errors raised while parsing leave the stream in an unknown state.
            self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def _not_found_page(self) -> Path:
        """The 404 page in the language of the path (/hi/... -> hi/404.html), else the site's own."""
        first = (getattr(self, "path", "") or "").lstrip("/").split("/", 1)[0]
        if LANGUAGE_FOLDER.fullmatch(first) and (Path(self.directory) / first / "404.html").is_file():
            return Path(self.directory) / first / "404.html"
        return Path(self.directory) / "404.html"

    def _read_body(self) -> bytes | None:
        """The body as API Gateway would pass it: by Content-Length, or de-chunked."""
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        length_header = self.headers.get("Content-Length")
        if encoding:
            if encoding != "chunked" or length_header is not None:
                # Both framings at once is how requests are smuggled past a proxy.
                raise BadBody(HTTPStatus.BAD_REQUEST, "The request's framing is not valid.")
            return self._read_chunks()
        if length_header is None:
            return None
        try:
            length = int(length_header)
        except ValueError:
            raise BadBody(HTTPStatus.BAD_REQUEST, "The Content-Length is not a number.") from None
        if length < 0:
            raise BadBody(HTTPStatus.BAD_REQUEST, "The Content-Length is not a number.")
        if length > GATEWAY_MAX_BODY:
            raise BadBody(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request too large")
        return self.rfile.read(length) if length else None

    def _read_chunks(self) -> bytes:
        body = bytearray()
        while size := self._chunk_size():
            if len(body) + size > GATEWAY_MAX_BODY:
                raise BadBody(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.read(2) != b"\r\n":
                raise BadBody(HTTPStatus.BAD_REQUEST, BAD_CHUNKS)
            body += chunk
        self._skip_trailers()
        return bytes(body)

    def _chunk_size(self) -> int:
        line = self.rfile.readline(1024)
        if not line.endswith(b"\n"):
            raise BadBody(HTTPStatus.BAD_REQUEST, BAD_CHUNKS)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadBody(HTTPStatus.BAD_REQUEST, BAD_CHUNKS) from None
        if size < 0:
            raise BadBody(HTTPStatus.BAD_REQUEST, BAD_CHUNKS)
        return size

    def _skip_trailers(self) -> None:
        """Trailer fields, up to the empty line that ends the message."""
        for _ in range(100):
            trailer = self.rfile.readline(8192)
            if trailer in (b"\r\n", b"\n"):
                return
            if not trailer.endswith(b"\n"):
                break
        raise BadBody(HTTPStatus.BAD_REQUEST, BAD_CHUNKS)

    def _to_api(self) -> None:
        try:
            body = self._read_body()
        except BadBody as bad:
            self.close_connection = True
            self._reply(bad.status, {"Content-Type": JSON_TYPE, "Connection": "close"},
                        json.dumps({"message": bad.message}).encode())
            return
        path = self.path[len(API_PREFIX):] or "/"
        if path.startswith("?"):
            path = "/" + path
        if "\x00" in unquote(path.split("?")[0]):
            self._reply(HTTPStatus.NOT_FOUND, {"Content-Type": JSON_TYPE},
                        b'{"message": "Not Found"}')
            return
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in ("transfer-encoding", ORIGIN_HEADER.lower())}
        if body is not None and "Content-Length" not in self.headers:
            headers["Content-Length"] = str(len(body))
        if self.origin_secret:
            # Replacing whatever the client sent under that name, as CloudFront does.
            headers[ORIGIN_HEADER] = self.origin_secret
        if not self.api_slots.acquire(timeout=self.queue_seconds):
            self._busy(JSON_TYPE, json.dumps({"message": BUSY_MESSAGE}).encode())
            return
        try:
            response = self.gateway.handle_request(
                method=self.command, path=path, headers=headers, body=body
            )
        except LocalGatewayException as error:
            self._reply(error.CODE, dict(error.headers), error.body or b"")
            return
        finally:
            self.api_slots.release()
        answer_headers = dict(response["headers"])
        answer_headers.update(response.get("multiValueHeaders") or {})
        payload = response.get("body") or b""
        if response.get("isBase64Encoded"):
            payload = base64.b64decode(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        self._reply(response["statusCode"], answer_headers, payload)

    def _to_console(self) -> None:
        """`/staff/...` to the console's own function, as CloudFront's /staff/* behaviour sends it:
        the same door, with its own headers (the site's are not added to its pages)."""
        try:
            body = self._read_body() or b""
        except BadBody as bad:
            self.close_connection = True
            self._reply(bad.status, {"Content-Type": "text/plain; charset=utf-8", "Connection": "close"},
                        bad.message.encode())
            return
        path, _, query = self.path.partition("?")
        request = ConsoleRequest(self.command, path, dict(parse_qsl(query, keep_blank_values=True)),
                                 {name.lower(): value for name, value in self.headers.items()}, body)
        console = self.console()
        if console is None:
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, {"Content-Type": "text/plain; charset=utf-8"},
                        b"The staff console is not set up on this server (no sign-in provider).", own=True)
            return
        if not self.api_slots.acquire(timeout=self.queue_seconds):
            self._busy("text/plain; charset=utf-8", BUSY_MESSAGE.encode(), own=True)
            return
        try:
            answer = console.handle(request)
        finally:
            self.api_slots.release()
        headers: dict[str, Any] = dict(answer.headers)
        if answer.cookies:
            headers["Set-Cookie"] = answer.cookies
        self._reply(answer.status, headers, answer.body, own=True)

    def _busy(self, content_type: str, body: bytes, own: bool = False) -> None:
        """No slot came free within the function's time budget: a quick 503 to retry later."""
        self._reply(HTTPStatus.SERVICE_UNAVAILABLE,
                    {"Content-Type": content_type, "Retry-After": str(BUSY_RETRY_SECONDS)}, body, own=own)

    def _reply(self, status: int, headers: dict[str, Any], body: bytes, own: bool = False) -> None:
        """`own`: the answer carries its own security headers (the console's), not the site's."""
        self._own_headers = own
        self.send_response(status)
        overridden = set() if own else {name.lower() for name in self.headers_for_every_answer}
        has_type = False
        for name, value in headers.items():
            lowered = name.lower()
            if lowered == "content-length" or lowered in overridden:
                continue
            has_type = has_type or lowered == "content-type"
            for single in value if isinstance(value, list) else [value]:
                self.send_header(name, str(single))
        if not has_type:
            self.send_header("Content-Type", DEFAULT_API_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class OneOriginServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def per_thread_requests(app: Any) -> Any:
    """The app with `current_request` and `lambda_context` kept per thread.

    Chalice keeps the request being handled on the app object, so two API
    requests at once would otherwise read each other's. Kept per thread, each
    of the server's request threads sees only its own, and requests run side
    by side (their waits on DynamoDB overlap) instead of one at a time.
    """
    own = threading.local()

    def per_thread(name: str) -> property:
        return property(lambda _app: getattr(own, name, None),
                        lambda _app, value: setattr(own, name, value))

    if not getattr(type(app), "per_thread_requests", False):
        app.__class__ = type(type(app).__name__, (type(app),), {
            "per_thread_requests": True,
            "current_request": per_thread("current_request"),
            "lambda_context": per_thread("lambda_context"),
        })
        for name in ("current_request", "lambda_context"):
            app.__dict__.pop(name, None)
    return app


def staff_console(backend_dir: Path) -> Callable[[], Console | None]:
    """The console, built on its first request from the stack's environment (its sign-in
    provider's issuer and client); None where no provider runs, as in most API tests."""
    built: list[Console | None] = []
    lock = threading.Lock()

    def console() -> Console | None:
        with lock:
            if not built:
                try:
                    built.append(console_from(os.environ, backend_dir, in_a_thread(console)))
                except ConfigurationError:
                    built.append(None)
            return built[0]

    return console


def function_seconds() -> float:
    """The API function's time budget: the Lambda timeout in the Chalice config.

    A request that cannot even start within it is answered 503 at once, as API
    Gateway answers when the function cannot run, instead of waiting in an
    unbounded queue while its client gives up (under a load average of 10,
    posts once waited 218 s for a slot)."""
    return float(json.loads(CHALICE_CONFIG.read_text())["lambda_timeout"])


def new_origin_secret() -> str:
    """A fresh secret per local run, as each deployment has its own."""
    return secrets.token_urlsafe(32)


def make_server(
    port: int, site_dir: Path, app: Any, *, origin_secret: str | None = None,
    log_requests: bool = True, queue_seconds: float | None = None,
) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 only; port 0 picks a free one.

    An API or console request that waits `queue_seconds` (default: the
    function's time budget) for one of the API slots without getting one is
    answered 503 with Retry-After.

    With origin_secret, every API request carries it, as CloudFront adds it;
    the app checks it when AFTERCARE_ORIGIN_SECRET holds the same value.
    Without log_requests only errors are logged.
    """
    budget = function_seconds()
    gateway = LocalGateway(per_thread_requests(app),
                           Config.create(lambda_timeout=int(budget), lambda_memory_size=512))
    console = staff_console(REPO / "backend")
    handler = type("Handler", (OneOriginHandler,), {
        "gateway": gateway,
        "headers_for_every_answer": security_headers(
            template.load(INFRA_TEMPLATE), site_dir, os.environ.get("AFTERCARE_S3_ENDPOINT")
        ),
        "origin_secret": origin_secret,
        "api_slots": threading.BoundedSemaphore(API_SLOTS),
        "queue_seconds": budget if queue_seconds is None else queue_seconds,
        "log_requests": log_requests,
        "console": staticmethod(console),
    })
    return OneOriginServer(("127.0.0.1", port), functools.partial(handler, directory=str(site_dir)))
