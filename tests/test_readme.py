"""The README's promises: its two commands, and the permission table matching the code."""

from __future__ import annotations

import re
from pathlib import Path

from frontdesk.auth.permissions import BUILTIN_ROLES, Permission

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text()
    first_block = re.search(r"```\n(.*?)```", text, re.S)
    assert first_block is not None
    assert first_block.group(1).split("\n")[:2] == ["python3 dev.py demo", "python3 dev.py test"]


def test_permission_table_matches_the_code() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    header = next(
        line for line in README.read_text().splitlines() if line.startswith("| permission |")
    )
    roles = [c.strip() for c in header.strip("|").split("|")][1:]
    assert roles == list(BUILTIN_ROLES)
    table: dict[str, set[str]] = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        permission = cells[0].strip("`")
        if permission not in {p.value for p in Permission}:
            continue
        table[permission] = {role for role, cell in zip(roles, cells[1:], strict=True) if cell}
    assert set(table) == {p.value for p in Permission}
    for role, granted in BUILTIN_ROLES.items():
        assert {p for p, holders in table.items() if role in holders} == {
            p.value for p in granted
        }, role
