"""The API's documentation of what each operation can answer besides success: the
`Idempotency-Key` header on every state-changing POST, and, per operation, each error status
with the stable codes it can carry, in the one error format {"code", "detail", ...}.

The codes are not written by hand beside each view, where they would drift: they are read
from the code itself. For an operation, core.api.schema follows every function and class the
view method refers to inside Qazyna's own packages (services, selectors, serializers,
validators, the guards of core), and collects the DomainError raises it finds (class →
status, `code=ErrorCode.X` → code) and every other ErrorCode it names; the request
serializer's fields add DRF's own validation codes (required, max_length, ...). Then come the
codes every operation of its kind can answer: authentication, the second factor, throttling,
the idempotency contract. tests/project/test_api_schemathesis.py checks the other way round:
every error a generated request received carries a code documented for its operation.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.errors import DomainError, ErrorCode

PROJECT_PACKAGES = ("core", "chain", "intake", "custody")
MAX_DEPTH = 8


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable code, a sentence for people, and for validation the fields."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField(), required=False)  # type: ignore[assignment]


def _own(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in PROJECT_PACKAGES


def _source_tree(obj: Any) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return None


def _resolve(node: ast.AST, namespace: dict[str, Any]) -> Any:
    """The object a Name or a dotted Attribute chain names in namespace, or None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in namespace:
        return None
    obj = namespace[node.id]
    for part in reversed(parts):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _error_code(node: ast.AST | None, namespace: dict[str, Any]) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    found = _resolve(node, namespace)
    return found.value if isinstance(found, ErrorCode) else None


def _callables_of(obj: Any) -> Iterator[Callable[..., Any]]:
    """A function, or every function defined on one of our classes."""
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if inspect.isclass(obj):
        for klass in obj.__mro__:
            if not _own(klass):
                continue
            for value in vars(klass).values():
                value = getattr(value, "__func__", value)
                if inspect.isfunction(value):
                    yield value
    elif inspect.isfunction(obj):
        yield obj


class _Collector:
    def __init__(self) -> None:
        self.codes: dict[int, set[str]] = {}
        self.loose: set[str] = set()  # codes named outside a raise (status decided elsewhere)
        self.seen: set[Any] = set()

    def add(self, status: int, code: str) -> None:
        self.codes.setdefault(status, set()).add(code)

    def visit(self, obj: Any, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            return
        for func in _callables_of(obj):
            if func in self.seen or not _own(func):
                continue
            self.seen.add(func)
            tree = _source_tree(func)
            if tree is not None:
                self._walk(tree, func.__globals__, depth)

    def _walk(self, tree: ast.AST, namespace: dict[str, Any], depth: int) -> None:
        in_raise: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                raised = _resolve(node.exc.func, namespace)
                if inspect.isclass(raised) and issubclass(raised, DomainError):
                    keyword = next((k.value for k in node.exc.keywords if k.arg == "code"),
                                   None)
                    code = _error_code(keyword, namespace)
                    if code is None and keyword is None:
                        code = raised.default_code.value
                    if code is not None:
                        self.add(raised.status, code)
                        in_raise.update(id(n) for n in ast.walk(node))
                elif inspect.isclass(raised) and issubclass(raised, serializers.ValidationError):
                    keyword = next((k.value for k in node.exc.keywords if k.arg == "code"),
                                   None)
                    self.add(400, _error_code(keyword, namespace) or "invalid")
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Name, ast.Attribute)):
                continue
            found = _resolve(node, namespace)
            if isinstance(found, ErrorCode):
                if id(node) not in in_raise:
                    self.loose.add(found.value)
            elif isinstance(found, (types.FunctionType, type, functools.partial)) or (
                    inspect.ismethod(found)):
                if _own(found):
                    self.visit(found, depth + 1)


def _serializer_codes(serializer: Any) -> dict[int, set[str]]:
    """What a request serializer can refuse: its fields' DRF codes (required, max_length,
    ...), and what its own methods, its fields' classes and their validators raise."""
    codes: dict[int, set[str]] = {}
    if serializer is None:
        return codes
    if isinstance(serializer, type):
        serializer = serializer()
    serializer = getattr(serializer, "child", serializer) if getattr(
        serializer, "many", False) else serializer
    collector = _Collector()
    collector.visit(type(serializer))
    for field in getattr(serializer, "fields", {}).values():
        codes.setdefault(400, set()).update(getattr(field, "error_messages", {}).keys())
        collector.visit(type(field))
        for validator in getattr(field, "validators", []):
            collector.visit(validator if inspect.isfunction(validator) else type(validator))
        if isinstance(field, (serializers.ListSerializer, serializers.ListField)):
            codes.setdefault(400, set()).update(getattr(field, "error_messages", {}).keys())
            field = field.child
        if isinstance(field, serializers.Serializer):
            for status, found in _serializer_codes(field).items():
                codes.setdefault(status, set()).update(found)
    for status, found in collector.codes.items():
        codes.setdefault(status, set()).update(found)
    for code in collector.loose:
        codes.setdefault(status_of(code), set()).add(code)
    return codes


@functools.cache
def _codes_of_view_method(func: Callable[..., Any]) -> tuple[dict[int, frozenset[str]],
                                                            frozenset[str]]:
    collector = _Collector()
    collector.visit(func)
    return ({status: frozenset(codes) for status, codes in collector.codes.items()},
            frozenset(collector.loose))


def status_of(code: str) -> int:
    """The status a loosely named code is answered with: the one DomainError subclass that
    names it as its default, else 400 for the input codes, else 409 (a state refusal)."""
    by_group = {ErrorCode.NOT_FOUND.value: 404, ErrorCode.THROTTLED.value: 429,
                ErrorCode.IDEMPOTENCY_KEY_REUSED.value: 422}
    if code in by_group:
        return by_group[code]
    if code in {c.value for c in (ErrorCode.FORBIDDEN, ErrorCode.OWN_CASE,
                                  ErrorCode.SECOND_FACTOR_REQUIRED,
                                  ErrorCode.SECOND_FACTOR_INVALID,
                                  ErrorCode.SECOND_FACTOR_LOCKED, ErrorCode.LOGIN_FAILED,
                                  ErrorCode.LOCKED_OUT, ErrorCode.OWN_TRANSFER,
                                  ErrorCode.OWN_ENTRY)}:
        return 403
    return 400


def error_codes_for(view: Any, method: str, *, request_serializer: Any = None,
                    has_path_ids: bool = False) -> dict[int, set[str]]:
    """{status: codes} that `method` of `view` can answer."""
    handler = getattr(type(view), method.lower(), None)
    statuses: dict[int, set[str]] = {}
    if handler is not None:
        raised, loose = _codes_of_view_method(inspect.unwrap(handler))
        for status, codes in raised.items():
            statuses.setdefault(status, set()).update(codes)
        for code in loose:
            # A code named outside a raise is passed to one: document it under every status
            # its raisers in the same operation use, or its own group's status.
            statuses.setdefault(status_of(code), set()).add(code)
    statuses.setdefault(401, set()).update({"not_authenticated", "authentication_failed"})
    statuses.setdefault(403, set()).add(ErrorCode.FORBIDDEN.value)
    if not getattr(view, "second_factor_exempt", False):
        statuses[403].add(ErrorCode.SECOND_FACTOR_REQUIRED.value)
    statuses.setdefault(429, set()).add(ErrorCode.THROTTLED.value)
    for status, found in getattr(view, "extra_error_codes", {}).items():
        statuses.setdefault(status, set()).update(found)
    if has_path_ids:
        statuses.setdefault(404, set()).add(ErrorCode.NOT_FOUND.value)
    if method.upper() == "GET":
        statuses.setdefault(400, set()).add(ErrorCode.INVALID_FILTER.value)
    if method.upper() in ("POST", "PUT", "PATCH"):
        statuses.setdefault(400, set()).update(
            {ErrorCode.INVALID.value, ErrorCode.PRIVATE_KEY_REFUSED.value, "parse_error"})
        for status, found in _serializer_codes(request_serializer).items():
            statuses.setdefault(status, set()).update(found)
        statuses.setdefault(409, set()).add(ErrorCode.IDEMPOTENCY_IN_FLIGHT.value)
        statuses.setdefault(422, set()).add(ErrorCode.IDEMPOTENCY_KEY_REUSED.value)
        statuses.setdefault(415, set()).add("unsupported_media_type")
    return statuses


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key", location=OpenApiParameter.HEADER, required=False, type=str,
    description=(
        "Any unique string (at most 128 printable characters) for this request. A retry with "
        "the same key and body gets the first answer again, without running twice; while the "
        "first is still running a retry gets 409 `idempotency_in_flight`; the same key with a "
        "different body gets 422 `idempotency_key_reused`. Kept 24 hours."))


class QazynaAutoSchema(AutoSchema):
    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method in ("POST", "PUT", "PATCH"):
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = self.resolve_serializer(ErrorSerializer, "response")
        writes = self.method in ("POST", "PUT", "PATCH")
        codes = error_codes_for(self.view, self.method,
                                request_serializer=self.get_request_serializer() if writes
                                else None,
                                has_path_ids="{" in self.path)
        for status, found in sorted(codes.items()):
            listed = sorted(found)
            responses.setdefault(str(status), {
                "description": "Error codes: " + ", ".join(f"`{c}`" for c in listed),
                "content": {"application/json": {"schema": error.ref}},
                "x-error-codes": listed,
            })
        return responses


def documented_codes(schema: dict[str, Any], path: str, method: str) -> set[str]:
    """Every error code the schema documents for an operation (for the tests)."""
    operation = schema["paths"][path][method.lower()]
    return {code for response in operation["responses"].values()
            for code in response.get("x-error-codes", [])}
