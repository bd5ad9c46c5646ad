"""Hypothesis strategies that turn genuine provider requests into hostile ones.

The contract kit fuzzes an adapter with requests *near* real ones (a field
dropped, a string where a number was, a header value that is not hex), since
that is where parsers break, and with plain garbage besides. Adapter authors
may reuse these strategies in their own property tests.

This module imports hypothesis; the rest of ``frontdesk.testing`` does not
need it until a fuzz test runs.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from hypothesis import strategies as st

from frontdesk.channels.types import InboundRequest

__all__ = ["bodies_like", "header_values", "json_values", "mutations", "requests_like"]

# Header values as an HTTP server hands them over: latin-1 text.
_HEADER_ALPHABET = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")

_DROP = object()


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (no NaN or infinities, which JSON cannot carry)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def mutations(value: Any) -> st.SearchStrategy[Any]:
    """JSON values shaped like ``value``: parts kept, dropped or replaced.

    Shrinks towards ``value`` itself, so a failure is reported as the
    smallest change that breaks the parser.
    """
    if isinstance(value, dict):
        entries = [
            st.tuples(st.just(key), st.one_of(mutations(item), st.just(_DROP), json_values()))
            for key, item in value.items()
        ]
        return st.one_of(
            st.tuples(*entries).map(
                lambda pairs: {key: item for key, item in pairs if item is not _DROP}
            ),
            json_values(),
        )
    if isinstance(value, list):
        return st.one_of(
            st.tuples(*(mutations(item) for item in value)).map(list),
            st.lists(mutations(value[0]), max_size=3) if value else st.lists(json_values()),
            json_values(),
        )
    return st.one_of(st.just(value), json_values())


def bodies_like(body: bytes, content_type: str = "") -> st.SearchStrategy[bytes]:
    """Request bodies near ``body`` (a mutated JSON or form body), or garbage."""
    garbage = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
    near: list[st.SearchStrategy[bytes]] = []
    try:
        document = json.loads(body)
    except ValueError:
        pass
    else:
        near.append(mutations(document).map(lambda doc: json.dumps(doc).encode()))
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        near.append(
            st.tuples(
                *(
                    st.tuples(st.just(key), st.one_of(st.just(value), st.just(_DROP), st.text()))
                    for key, value in pairs
                )
            ).map(lambda kept: urlencode([(k, v) for k, v in kept if v is not _DROP]).encode())
        )
    return st.one_of(*near, garbage)


def header_values() -> st.SearchStrategy[str]:
    """Header values an HTTP server could hand over (latin-1 text)."""
    return st.text(alphabet=_HEADER_ALPHABET, max_size=80)


def requests_like(
    request: InboundRequest, *, keep_headers: bool = False, keep_body: bool = False
) -> st.SearchStrategy[InboundRequest]:
    """Requests near ``request``: each header kept, dropped or given another
    value (unless ``keep_headers``); query values likewise; the body mutated
    (unless ``keep_body``).
    """
    headers: st.SearchStrategy[dict[str, str]] = (
        st.just(dict(request.headers))
        if keep_headers
        else st.tuples(
            *(
                st.tuples(st.just(name), st.one_of(st.just(value), st.just(_DROP), header_values()))
                for name, value in request.headers.items()
            )
        ).map(lambda kept: {name: value for name, value in kept if value is not _DROP})
    )
    query = st.tuples(
        *(
            st.tuples(
                st.just(name),
                st.one_of(st.just(values), st.just(_DROP), st.lists(st.text(max_size=30))),
            )
            for name, values in request.query.items()
        )
    ).map(lambda kept: {name: list(values) for name, values in kept if values is not _DROP})
    body = (
        st.just(request.body)
        if keep_body
        else bodies_like(request.body, request.headers.get("content-type", ""))
    )
    return st.builds(
        lambda h, q, b: msgspec.structs.replace(request, headers=h, query=q, body=b),
        headers,
        query,
        body,
    )
