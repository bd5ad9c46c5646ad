"""A domain owns its tables: no domain imports another domain's ``models`` module.

Other domains call the owner's service functions (DESIGN.md). An import under
``if TYPE_CHECKING:`` names a type for an annotation and reads no table, so it
is allowed. The test reads the source (no import runs), so it costs nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import frontdesk

PACKAGE = Path(frontdesk.__file__).parent

#: Packages that may read any domain's tables, and why.
ALLOWED_EVERYWHERE = {
    # SQL aggregation over tickets, SLAs, hand-offs, calls, surveys, timers and
    # teams: one query per figure, which service functions cannot give.
    "reports",
    # Migrations describe every table.
    "migrations",
    # The console's pages; their reads are being moved to service functions
    # while the pages are reworked.
    "web",
}

#: Reads that predate this test, each to be moved to a service function of the
#: owner. The list may only shrink: a pair that no longer occurs fails the test,
#: so it is removed when its read is moved.
KNOWN = {
    ("attachments", "channels"),
    ("calls", "channels"),
    ("calls", "tickets"),
    ("channels", "identity"),
    ("channels", "tickets"),
    ("handoffs", "tickets"),
    ("realtime", "auth"),
    ("realtime", "notifications"),
    ("realtime", "tickets"),
    ("routing", "tickets"),
    ("tasks", "tickets"),
    ("timers", "tickets"),
}


def _runtime_imports(tree: ast.Module) -> Iterator[ast.stmt]:
    """Import statements outside ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in {
                "TYPE_CHECKING",
                "typing.TYPE_CHECKING",
            }:
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            stack.append(child)


def _models_imported(node: ast.stmt) -> Iterator[str]:
    """The domains whose ``models`` module this statement imports."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        return
    owners = set()
    for module in modules:
        parts = module.split(".")
        if len(parts) >= 3 and parts[0] == "frontdesk" and parts[2] == "models":
            owners.add(parts[1])
    yield from sorted(owners)


def cross_domain_reads() -> dict[tuple[str, str], list[str]]:
    """(importing domain, owning domain) → the files where it happens."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) < 2:
            continue  # frontdesk/models.py gathers every table for Alembic; app.py etc.
        domain = relative.parts[0]
        if domain in ALLOWED_EVERYWHERE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _runtime_imports(tree):
            for owner in _models_imported(node):
                if owner != domain:
                    found.setdefault((domain, owner), []).append(f"{relative}:{node.lineno}")
    return found


def test_no_domain_imports_another_domains_models() -> None:
    found = cross_domain_reads()
    new = {pair: where for pair, where in found.items() if pair not in KNOWN}
    assert not new, (
        "these read another domain's tables; call a service function of the owner instead: "
        + "; ".join(f"{d} reads {o} ({', '.join(w)})" for (d, o), w in sorted(new.items()))
    )


def test_the_known_list_only_shrinks() -> None:
    gone = KNOWN - set(cross_domain_reads())
    assert not gone, f"no longer read, remove from KNOWN: {sorted(gone)}"


def test_the_walk_sees_a_cross_domain_import() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from frontdesk.tickets.models import Ticket\n"
        "from frontdesk.auth import models\n"
        "if TYPE_CHECKING:\n"
        "    from frontdesk.identity.models import Customer\n"
        "def f():\n"
        "    import frontdesk.channels.models\n"
    )
    owners = [o for node in _runtime_imports(tree) for o in _models_imported(node)]
    assert sorted(owners) == ["auth", "channels", "tickets"]
