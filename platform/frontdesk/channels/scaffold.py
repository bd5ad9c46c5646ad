"""``frontdesk adapters new NAME``: write a new adapter package that passes the contract kit.

The package is rendered from ``scaffold_template/`` (package data) with
``string.Template``: ``$name``-style placeholders in file contents, a
``__package__`` folder renamed to the import package, a ``.tmpl`` suffix
dropped and a ``dot-`` prefix turned into a dot (so the template itself
holds no dotfiles that packaging tools might skip).
"""

from __future__ import annotations

import re
import secrets
import shutil
import string
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path

import frontdesk
from frontdesk.channels.registry import ENTRY_POINT_GROUP
from frontdesk.errors import Conflict, InvalidInput

__all__ = ["NAME_PATTERN", "create_adapter_package", "render_values"]

#: Lowercase letters and digits, words joined by single hyphens or
#: underscores, starting with a letter (it becomes part of a Python package name).
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
MAX_NAME_LENGTH = 40

TEMPLATE = "scaffold_template"


def render_values(name: str) -> dict[str, str]:
    """The placeholders the template uses, for a valid ``name``."""
    words = re.split(r"[-_]", name)
    kind = "_".join(words)
    return {
        "name": name,
        "kind": kind,
        "dist": f"frontdesk-{name}",
        "package": f"frontdesk_{kind}",
        "class_name": "".join(word.capitalize() for word in words) + "Adapter",
        "display_name": " ".join(word.capitalize() for word in words),
        # The SDK it is written against, and later ones (sdk_versions guards majors).
        "frontdesk_requirement": f"frontdesk>={frontdesk.__version__}",
    }


def create_adapter_package(name: str, dest: Path) -> Path:
    """Write the package ``frontdesk-<name>/`` into ``dest`` and return its path.

    Raises ``InvalidInput`` for a name that is not lowercase letters, digits
    and single ``-``/``_`` separators starting with a letter, and ``Conflict``
    if the folder exists or an installed plugin already uses the name.
    Nothing is left behind on failure: the package is written to a temporary
    folder next to its destination, then renamed.
    """
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"invalid adapter name {name!r}: use lowercase letters and digits, starting with "
            f"a letter, words joined by '-' or '_', at most {MAX_NAME_LENGTH} characters "
            "(for example: acme-crm)"
        )
    values = render_values(name)
    if values["kind"] in installed_entry_points():
        # Two plugins with one kind stop the platform at start-up.
        raise Conflict(
            f"an installed channel plugin is already named {values['kind']!r}; choose another name"
        )
    target = Path(dest) / values["dist"]
    if target.exists() or target.is_symlink():
        raise Conflict(f"{target} already exists; choose another name or folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would stay on the renamed package.
    staging = target.parent / f".{values['dist']}-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        _render_tree(resources.files("frontdesk.channels") / TEMPLATE, staging, values)
        if target.exists():  # created meanwhile: rename would replace an empty folder
            raise Conflict(f"{target} already exists; choose another name or folder")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def installed_entry_points() -> set[str]:
    """Names registered in the ``frontdesk.channels`` entry-point group (by convention, kinds)."""
    return {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _render_tree(source: Traversable, out: Path, values: dict[str, str]) -> None:
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        name = _rendered_name(entry.name, values)
        if entry.is_dir():
            (out / name).mkdir()
            _render_tree(entry, out / name, values)
        elif entry.name.endswith(".tmpl"):
            text = string.Template(entry.read_text(encoding="utf-8")).substitute(values)
            (out / name).write_text(text, encoding="utf-8")


def _rendered_name(name: str, values: dict[str, str]) -> str:
    name = name.removesuffix(".tmpl").replace("__package__", values["package"])
    if name.startswith("dot-"):
        name = "." + name.removeprefix("dot-")
    return name
