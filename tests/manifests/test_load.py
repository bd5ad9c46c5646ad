"""A manifest with an error is refused with the file position of the key or value at fault."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.manifests.export import dumps
from frontdesk.manifests.load import ManifestError, load_manifest
from frontdesk.manifests.positions import key_positions

TENANTS = Path(__file__).resolve().parents[2] / "tenants"

GOOD = """\
version = 1

[tenant]
slug = "acme-shop"
name = "Acme"

[[teams]]
slug = "front-line"
name = "Front line"
default = true

[[users]]
email = "ada@acme.example"
role = "admin"
teams = ["front-line"]

[[routing_rules]]
name = "Returns"
conditions = { keywords = ["return"] }
actions = { team = "front-line" }
"""


def refused(text: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifest(text, "acme.toml")
    return str(info.value).splitlines()


def test_a_good_manifest_loads() -> None:
    loaded = load_manifest(GOOD, "acme.toml")
    assert loaded.manifest.tenant.slug == "acme-shop"
    assert loaded.manifest.routing_rules is not None
    assert loaded.manifest.routing_rules[0].actions.team == "front-line"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # TOML syntax: tomllib's own position.
        ('name = "Acme"', 'name = "Acme', "acme.toml:5:13: TOML syntax: Illegal character"),
        # A wrong type: the key's position.
        ("default = true", 'default = "yes"', "acme.toml:10:1: Expected `bool`, got `str`"),
        # An unknown key, at any depth, inline tables included.
        ('name = "Front line"', 'nmae = "Front line"', "acme.toml:9:1: unknown key 'nmae'"),
        (
            'actions = { team = "front-line" }',
            'actions = { team = "front-line", teem = "x" }',
            "acme.toml:20:34: unknown key 'teem'",
        ),
        # A rule naming a team no one defined: the value's position.
        (
            'actions = { team = "front-line" }',
            'actions = { team = "returns" }',
            "acme.toml:20:13: no team 'returns' under [[teams]]",
        ),
        (
            'teams = ["front-line"]',
            'teams = ["front-line", "nowhere"]',
            "acme.toml:15:24: no team 'nowhere' under [[teams]]",
        ),
        # A bad time zone in a calendar.
        (
            "default = true\n",
            'default = true\nbusiness_hours = { timezone = "Mars/Olympus", hours = { mon = '
            '[["09:00", "17:00"]] } }\n',
            "acme.toml:11:20: unknown time zone 'Mars/Olympus'",
        ),
        ('role = "admin"', 'role = "boss"', "acme.toml:14:1: no role 'boss'"),
        ('email = "ada@acme.example"', 'email = "ada"', "acme.toml:13:1: not an email address"),
        # A canned reply the canned-replies service would refuse: a typo in a placeholder.
        (
            'actions = { team = "front-line" }\n',
            'actions = { team = "front-line" }\n\n[[canned_replies]]\ntitle = "Hi"\n'
            'body = """\nHello {{customer.nmae}}\n"""\n',
            "acme.toml:24:1: canned reply 'Hi': unknown placeholder(s): customer.nmae; known: "
            "customer.name,",
        ),
    ],
)
def test_an_error_is_refused_with_the_position_of_the_key_or_value(
    old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    lines = refused(GOOD.replace(old, new, 1))
    assert any(line.startswith(expected) for line in lines), lines


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = GOOD.replace('teams = ["front-line"]', 'teams = ["ops"]').replace(
        'actions = { team = "front-line" }', 'actions = { team = "ops" }'
    )
    assert refused(text) == [
        "acme.toml:15:10: no team 'ops' under [[teams]]",
        "acme.toml:20:13: no team 'ops' under [[teams]]",
    ]


def test_a_manifest_without_an_admin_is_refused() -> None:
    assert refused(GOOD.replace('role = "admin"', 'role = "agent"')) == [
        "acme.toml:12:1: a manifest needs at least one admin user"
    ]


def test_positions_follow_arrays_of_tables_subtables_and_multiline_arrays() -> None:
    text = (
        '[[channels]]\nname = "a"\n\n[[channels]]\nname = "b"\n[channels.config]\n'
        'hours = [\n  "x",\n  "y",\n]\nnote = """\n[not a table]\n"""\nafter = 1\n'
    )
    found = key_positions(text)
    assert found[("channels", 1, "name")] == (5, 1)
    assert found[("channels", 1, "config", "hours", 1)] == (9, 3)
    assert found[("channels", 1, "config", "after")] == (14, 1)
    assert ("not a table",) not in found


@pytest.mark.parametrize("name", ["lanting-mall.toml", "northwind-cloud.toml"])
def test_the_examples_load_and_survive_writing_back(name: str) -> None:
    import msgspec

    loaded = load_manifest((TENANTS / name).read_text(encoding="utf-8"), name)
    written = dumps(msgspec.to_builtins(loaded.manifest))
    assert load_manifest(written, name).manifest == loaded.manifest


# --- the writer and the position scanner, property-tested together ---------------

_keys = st.text(alphabet="abcxyz019_- .中", min_size=1, max_size=6)
_scalars = (
    st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(_keys, inner, min_size=1, max_size=4)
    ),
    max_leaves=12,
)
_documents = st.dictionaries(
    _keys,
    _values
    | st.lists(st.dictionaries(_keys, _values, min_size=1, max_size=3), min_size=1, max_size=3),
    min_size=1,
    max_size=5,
)


def _paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


@settings(max_examples=15, deadline=None)
@given(_documents)
def test_what_dumps_writes_parses_back_and_every_key_has_a_position(doc: dict) -> None:
    text = dumps(doc)
    assert tomllib.loads(text) == doc
    found = key_positions(text)
    lines = text.split("\n")  # TOML's lines: \x85 and friends may sit in strings
    for path in _paths(doc):
        assert path in found, (path, text)
        line, column = found[path]
        step = path[-1]
        if isinstance(step, str) and not isinstance(path[-2] if len(path) > 1 else None, int):
            # A key's position is where the key (or its table header) is written.
            written = lines[line - 1][column - 1 :]
            assert written.startswith(("[", '"', step[:1])), (path, written)
