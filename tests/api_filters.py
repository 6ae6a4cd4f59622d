"""Bad query parameters on list endpoints: the cases to send, the refusal to expect, and
arbitrary query strings for hypothesis."""

from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

NUL = "\x00"

# The bad values of each kind of parameter: (label, value).
BAD_VALUES = {
    "text": [("nul", NUL), ("nul-inside", f"a{NUL}b"), ("overlong", "x" * 5000)],
    "code": [("nul", NUL), ("not-a-code", "no such code"), ("overlong", "a" * 5000)],
    "choice": [("nul", NUL), ("unknown", "NO_SUCH_STATUS"), ("lowercase", "settled"),
               ("overlong", "A" * 5000)],
    "choices": [("nul", NUL), ("unknown", "NO_SUCH_STATUS"), ("one-unknown", "{good},NOPE"),
                ("separators-only", ",,"), ("overlong", "{good}," * 1000)],
    "uuid": [("nul", NUL), ("not-a-uuid", "not-a-uuid"), ("integer", "42"),
             ("uuid-and-nul", f"00000000-0000-0000-0000-000000000000{NUL}"),
             ("overlong", "0" * 5000)],
    "flag": [("nul", NUL), ("unknown", "maybe"), ("overlong", "1" * 5000)],
    "page_size": [("nul", NUL), ("not-an-integer", "ten"), ("decimal", "1.5"),
                  ("negative", "-1"), ("zero", "0"), ("overlong", "9" * 5000)],
}


def bad_filter_cases(endpoints):
    """endpoints: {name: {param: kind}} (kind a key of BAD_VALUES, "choices" as
    (kind, a good value)) → pytest params (name, param, value) with readable ids."""
    import pytest

    cases = []
    for name, params in endpoints.items():
        for param, kind in params.items():
            good = ""
            if isinstance(kind, tuple):
                kind, good = kind
            for label, value in BAD_VALUES[kind]:
                cases.append(pytest.param(name, param, value.replace("{good}", good),
                                          id=f"{name}-{param}-{label}"))
    return cases


def assert_invalid_filter(response, param):
    """A 400 in the one error envelope, code invalid_filter, naming param."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "invalid_filter", body
    assert body["detail"].startswith(f"{param}: "), body
    assert {error["field"] for error in body["errors"]} == {param}, body


def assert_not_a_server_error(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400 and response["Content-Type"] == "application/json":
        assert set(response.json()) >= {"code", "detail"}, response.content[:300]


# Characters and bytes that have broken filters before, mixed into the arbitrary ones so
# that the search meets them often.
TRICKY_TEXT = ["\x00", ","]
TRICKY_BYTES = [b"\x00", b"\xff", b","]


def _with_tricky(arbitrary, tricky):
    """Arbitrary values, and values with a tricky piece somewhere in them."""
    return arbitrary(max_size=300) | st.tuples(
        arbitrary(max_size=20), st.sampled_from(tricky), arbitrary(max_size=20)).map(
        lambda parts: parts[0] + parts[1] + parts[2])


def query_params(names):
    """Arbitrary text under the endpoint's own parameter names and the paginator's (each
    present or not), and under arbitrary names (no lone surrogates: a client cannot
    encode them)."""
    char = st.characters(exclude_categories=["Cs"])
    value = _with_tricky(lambda max_size: st.text(char, max_size=max_size), TRICKY_TEXT)
    known = st.fixed_dictionaries(
        {}, optional={name: value for name in [*names, "page", "page_size"]})
    unknown = st.dictionaries(st.text(char, max_size=20), value, max_size=2)
    return st.tuples(unknown, known).map(lambda both: {**both[0], **both[1]})


def raw_query_strings(names):
    """Arbitrary bytes, percent-encoded, as a whole query string (invalid UTF-8 too)."""
    value = _with_tricky(lambda max_size: st.binary(max_size=max_size), TRICKY_BYTES)
    known = st.fixed_dictionaries(
        {}, optional={name.encode(): value for name in [*names, "page", "page_size"]})
    unknown = st.lists(st.tuples(st.binary(max_size=20), value), max_size=2)
    return st.tuples(unknown, known).map(lambda both: "&".join(
        f"{quote_from_bytes(k)}={quote_from_bytes(v)}"
        for k, v in [*both[0], *both[1].items()]))
