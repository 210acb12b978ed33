"""The playground's web server: the page's three files and a small JSON API.

Standard library only (`http.server`). Safe by default:

- it listens on 127.0.0.1 only, and answers only requests whose Host is this address
  (``127.0.0.1:<port>`` or ``localhost:<port>``) and whose Origin, if any, is this
  page: another web site open in the browser cannot drive it (DNS rebinding, CSRF);
- it serves the files listed in STATIC and nothing else (no path is read from a URL);
- a request body is JSON of at most MAX_BODY bytes, and every setting in it is checked
  and bounded (playground_settings.py): a bad one is a 400 with a sentence for the page;
- no request runs code it brings: the API trains, measures and explains the one model.

The API (every answer JSON; an error is ``{"error": "..."}`` with a 4xx status):

    GET  /api/state    the run: settings, points, curves, weights, neuron maps
    GET  /api/options  the choices and bounds of every setting
    POST /api/reset    {settings}: a new run (a setting left out takes its default)
    POST /api/train    {"steps": n}: n optimizer steps (1..MAX_STEPS), then the state
    POST /api/graph    {"neuron": {"layer", "index"} or "loss", "point": {"split",
                       "index"}}: that neuron's graph at that point, and backward's steps
"""

from __future__ import annotations

import json
import math
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import playground_settings as checks
from playground_graph import neuron_graph
from playground_session import Session
from playground_settings import RequestError, Settings, parse_settings

PAGE_DIR = Path(__file__).resolve().parent / "playground"
STATIC = {  # URL path -> (file in PAGE_DIR, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
MAX_BODY = 16 * 1024  # bytes of a request body
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class RefusedError(Exception):
    """A request answered with an error status and a message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Playground:
    """The one run the page shows, behind a lock: requests take turns on it."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.lock = threading.Lock()
        self.session = Session(settings or Settings())

    def state(self) -> dict[str, Any]:
        with self.lock:
            return self.session.snapshot(with_points=True)

    def reset(self, request: object) -> dict[str, Any]:
        settings = parse_settings(request)
        session = Session(settings)  # traced outside the lock: training goes on meanwhile
        with self.lock:
            self.session = session
            return session.snapshot(with_points=True)

    def train(self, request: object) -> dict[str, Any]:
        fields = checks.require_object(request, "train request")
        if set(fields) != {"steps"}:
            raise RequestError('train request: expected {"steps": n}')
        steps = checks.integer(fields["steps"], "steps", 1, checks.MAX_STEPS)
        with self.lock:
            self.session.train(steps)
            return self.session.snapshot()

    def graph(self, request: object) -> dict[str, Any]:
        with self.lock:
            return neuron_graph(self.session, request)


def options() -> dict[str, Any]:
    """The choices and bounds the page's form offers (the checks are the server's)."""
    return {
        "defaults": Settings().as_json(),
        "datasets": list(checks.DATASETS),
        "activations": list(checks.ACTIVATIONS),
        "losses": list(checks.LOSSES),
        "optimizers": list(checks.OPTIMIZERS),
        "points": [checks.MIN_POINTS, checks.MAX_POINTS],
        "noise": [0.0, checks.MAX_NOISE],
        "train_percent": [checks.MIN_TRAIN_PERCENT, checks.MAX_TRAIN_PERCENT],
        "learning_rate": [checks.MIN_LR, checks.MAX_LR],
        "max_layers": checks.MAX_LAYERS,
        "max_width": checks.MAX_WIDTH,
        "max_steps": checks.MAX_STEPS,
    }


class PlaygroundServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 holding one `Playground`."""

    daemon_threads = True  # Ctrl-C does not wait for open connections

    def __init__(self, port: int, playground: Playground) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.playground = playground
        self.port = self.server_address[1]
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def serve_in_background(self) -> threading.Thread:
        """Serve from a daemon thread (for tests and notebooks); `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="playground", daemon=True)
        thread.start()
        return thread


class Handler(BaseHTTPRequestHandler):
    """Answers the page's requests (see the module); every answer has SECURITY_HEADERS."""

    server: PlaygroundServer
    server_version = "playground"
    sys_version = ""
    timeout = 10  # seconds a connection may sit idle: a stalled client frees its thread
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _get(self) -> tuple[bytes, str]:
        path = urlsplit(self.path).path
        if path in STATIC:
            name, content_type = STATIC[path]
            return (PAGE_DIR / name).read_bytes(), content_type
        if path == "/api/state":
            return _json(self.server.playground.state())
        if path == "/api/options":
            return _json(options())
        raise RefusedError(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def _post(self) -> tuple[bytes, str]:
        path = urlsplit(self.path).path
        playground = self.server.playground
        actions = {
            "/api/reset": playground.reset,
            "/api/train": playground.train,
            "/api/graph": playground.graph,
        }
        if path not in actions:
            raise RefusedError(HTTPStatus.NOT_FOUND, f"no such action: {path}")
        return _json(actions[path](self._body()))

    def _answer(self, handle: Any) -> None:
        """Check where the request comes from, run `handle`, send what it returns or the
        error: a RequestError is the client's (400), anything else is ours (500, one line
        on the terminal, never a traceback on the page)."""
        try:
            self._check_origin()
            body, content_type = handle()
            status = HTTPStatus.OK
        except RefusedError as refused:
            status, (body, content_type) = refused.status, _json({"error": str(refused)})
        except RequestError as error:
            status, (body, content_type) = HTTPStatus.BAD_REQUEST, _json({"error": str(error)})
        except Exception as error:  # a bug: say so on the page, and where on the terminal
            print(f"playground: internal error on {self.path}: {error!r}", file=sys.stderr)
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            body, content_type = _json({"error": f"internal error: {type(error).__name__}"})
        self._send(status, body, content_type)

    def _check_origin(self) -> None:
        """403 unless Host names this server and Origin (if sent) is this page."""
        host = self.headers.get("Host")
        if host not in self.server.hosts:
            raise RefusedError(HTTPStatus.FORBIDDEN, f"refused: Host {host!r} is not this server")
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            raise RefusedError(HTTPStatus.FORBIDDEN, f"refused: Origin {origin!r} is not this page")

    def _body(self) -> object:
        """The request's JSON body: at most MAX_BODY bytes, Content-Type application/json."""
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            raise RefusedError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise RefusedError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        if not length_text.isdigit():
            self.close_connection = True
            raise RefusedError(HTTPStatus.BAD_REQUEST, f"bad Content-Length: {length_text[:20]!r}")
        length = int(length_text)
        if length > MAX_BODY:
            self.close_connection = True  # its body is not read: the connection ends here
            raise RefusedError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body too large: {length} bytes, at most {MAX_BODY}",
            )
        data = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RefusedError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json"
            )
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise RefusedError(HTTPStatus.BAD_REQUEST, "the body is not valid JSON") from None

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the address and errors, not every request."""


def _json(data: Any) -> tuple[bytes, str]:
    """`data` as JSON bytes; nan and inf (which JSON lacks) become null."""
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a nan or an inf somewhere: walk the data to replace them
        text = json.dumps(_finite(data), separators=(",", ":"))
    return text.encode(), "application/json"


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(item) for item in data]
    return data
