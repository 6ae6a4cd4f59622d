"""HTTP + JSON-RPC framing that behaves like bitcoind's RPC server.

Legacy requests (no ``jsonrpc`` or "1.0") always carry result/error/id and map errors to HTTP
statuses; JSON-RPC 2.0 requests answer errors with HTTP 200 and only one of result/error;
2.0 notifications get 204. Batches are answered item by item with HTTP 200.
"""

import base64
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import encoding
from .rpc import Node, RPCError

log = logging.getLogger("devchain")

BANNER = "DEVELOPMENT CHAIN — regtest only, not a Bitcoin node"
HTTP_OK, HTTP_NO_CONTENT, HTTP_BAD_REQUEST, HTTP_UNAUTHORIZED = 200, 204, 400, 401
HTTP_NOT_FOUND, HTTP_BAD_METHOD, HTTP_INTERNAL = 404, 405, 500
RPC_INVALID_REQUEST, RPC_METHOD_NOT_FOUND, RPC_PARSE_ERROR = -32600, -32601, -32700
HTML = "text/html; charset=ISO-8859-1"


class _Missing:
    pass


MISSING = _Missing()


class JSONRPCRequest:
    def __init__(self, obj):
        self.id = obj.get("id", MISSING) if isinstance(obj, dict) else MISSING
        self.v2 = False
        self.method = None
        self.params = None
        if not isinstance(obj, dict):
            raise RPCError(RPC_INVALID_REQUEST, "Invalid Request object")
        if "jsonrpc" in obj:
            version = obj["jsonrpc"]
            if not isinstance(version, str):
                raise RPCError(RPC_INVALID_REQUEST, "jsonrpc field must be a string")
            if version == "2.0":
                self.v2 = True
            elif version != "1.0":
                raise RPCError(RPC_INVALID_REQUEST, "JSON-RPC version not supported")
        if "method" not in obj:
            raise RPCError(RPC_INVALID_REQUEST, "Missing method")
        if not isinstance(obj["method"], str):
            raise RPCError(RPC_INVALID_REQUEST, "Method must be a string")
        self.method = obj["method"]
        params = obj.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, (list, dict)):
            raise RPCError(RPC_INVALID_REQUEST, "Params must be an array or object")
        self.params = params

    @property
    def is_notification(self):
        return self.v2 and self.id is MISSING


def reply(request_id, v2, result=None, error=None):
    if v2:
        body = {"jsonrpc": "2.0"}
        if error is not None:
            body["error"] = error
        else:
            body["result"] = result
    else:
        body = {"result": result, "error": error}
    if request_id is not MISSING:
        body["id"] = request_id
    return body


def _status_for(code):
    if code == RPC_INVALID_REQUEST:
        return HTTP_BAD_REQUEST
    if code == RPC_METHOD_NOT_FOUND:
        return HTTP_NOT_FOUND
    return HTTP_INTERNAL


class RPCServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, node: Node, rpcuser: str, rpcpassword: str, on_change=None):
        super().__init__(address, RPCHandler)
        self.node = node
        self.credentials = f"{rpcuser}:{rpcpassword}".encode()
        self.on_change = on_change  # called after each request (persistence)


class RPCHandler(BaseHTTPRequestHandler):
    server: RPCServer
    protocol_version = "HTTP/1.1"
    server_version = "devchain"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep test output quiet
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send(self, status, body: bytes, content_type=None, extra=()):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in extra:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _send_json(self, status, value):
        self._send(status, (encoding.dumps(value) + "\n").encode(), "application/json")

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(given, self.server.credentials)

    def do_GET(self):  # noqa: N802 - http.server naming
        self._send(HTTP_BAD_METHOD, b"JSONRPC server handles only POST requests", HTML)

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self._authorized():
            self._send(HTTP_UNAUTHORIZED, b"", HTML,
                       [("WWW-Authenticate", 'Basic realm="jsonrpc"')])
            return
        path = self.path.split("?")[0]
        wallet = None
        if path.startswith("/wallet/"):
            from urllib.parse import unquote

            wallet = unquote(path[len("/wallet/"):])
        elif path != "/":
            self._send(HTTP_NOT_FOUND, b"", HTML)
            return
        try:
            body = encoding.loads(raw.decode("utf-8")) if raw else MISSING
        except (ValueError, UnicodeDecodeError):
            body = MISSING
        if body is MISSING:
            self._send_json(HTTP_INTERNAL, reply(None, False, error={
                "code": RPC_PARSE_ERROR, "message": "Parse error"}))
            return
        if isinstance(body, list):
            self._batch(body, wallet)
        elif isinstance(body, dict):
            status, response = self._single(body, wallet)
            if response is None:
                self._send(HTTP_NO_CONTENT, b"")
            else:
                self._send_json(status, response)
        else:
            self._send_json(HTTP_INTERNAL, reply(None, False, error={
                "code": RPC_PARSE_ERROR, "message": "Top-level object parse error"}))
        if self.server.on_change is not None:
            self.server.on_change()

    def _single(self, obj, wallet):
        """(http status, reply dict or None for a notification)."""
        try:
            request = JSONRPCRequest(obj)
        except RPCError as exc:
            v2 = isinstance(obj, dict) and obj.get("jsonrpc") == "2.0"
            request_id = obj.get("id", MISSING) if isinstance(obj, dict) else MISSING
            error = {"code": exc.code, "message": exc.message}
            return _status_for(exc.code), reply(request_id, v2, error=error)
        try:
            result = self.server.node.call(request.method, request.params, wallet)
        except RPCError as exc:
            if request.is_notification:
                return HTTP_NO_CONTENT, None
            status = HTTP_OK if request.v2 else _status_for(exc.code)
            error = {"code": exc.code, "message": exc.message}
            return status, reply(request.id, request.v2, error=error)
        except Exception as exc:  # a bug in the stand-in: report it as Core's misc error
            log.exception("RPC %s failed", request.method)
            if request.is_notification:
                return HTTP_NO_CONTENT, None
            status = HTTP_OK if request.v2 else HTTP_INTERNAL
            error = {"code": -1, "message": f"devchain internal error: {exc}"}
            return status, reply(request.id, request.v2, error=error)
        if request.is_notification:
            return HTTP_NO_CONTENT, None
        return HTTP_OK, reply(request.id, request.v2, result=result)

    def _batch(self, items, wallet):
        responses = []
        last_id = MISSING
        for item in items:
            if not isinstance(item, dict):
                # as recorded: the error carries the id of the item before it
                responses.append(reply(last_id, True, error={
                    "code": RPC_INVALID_REQUEST, "message": "Invalid Request object"}))
                continue
            last_id = item.get("id", last_id)
            _, response = self._single(item, wallet)
            if response is not None:
                responses.append(response)
        if items and not responses:
            self._send(HTTP_NO_CONTENT, b"")
            return
        self._send_json(HTTP_OK, responses)


def serve_in_thread(server: RPCServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="devchain-rpc", daemon=True)
    thread.start()
    return thread


__all__ = ["BANNER", "RPCServer", "serve_in_thread", "json"]
