"""Where each key and array element of a TOML document starts, for error messages.

``tomllib`` reports positions only for syntax errors; a manifest that parses
but says something wrong (an unknown key, a team no one defined) should be
pointed at just as precisely. This scanner runs over a document tomllib has
already accepted, so it can be lenient: it follows tables, arrays of tables,
dotted keys, inline tables and arrays (also over several lines), and skips
strings and scalars, recording ``path -> (line, column)`` (both from 1) for
every key and every array element. A path is what the parsed document would
be indexed with: ``("channels", 1, "config", "corp_id")``.
"""

from __future__ import annotations

import bisect
import re

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.found: dict[Path, int] = {}
        # Arrays of tables seen so far, by resolved path: how many elements.
        self.tables: dict[Path, int] = {}
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def skip_space(self, *, newlines: bool) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            else:
                return

    def skip_line(self) -> None:
        end = self.s.find("\n", self.i)
        self.i = len(self.s) if end < 0 else end + 1

    def string(self) -> str:
        s = self.s
        for quote in ('"""', "'''"):
            if s.startswith(quote, self.i):
                start = self.i + 3
                j = start
                while True:
                    j = s.find(quote, j)
                    if j < 0:
                        self.i = len(s)
                        return s[start:]
                    if quote == '"""' and _escaped(s, j):
                        j += 1
                        continue
                    # A closing run may hold up to two extra quotes of the content.
                    while s.startswith(quote[0], j + 3):
                        j += 1
                    self.i = j + 3
                    return s[start:j]
        quote = s[self.i]
        j = self.i + 1
        while j < len(s) and s[j] != quote and s[j] != "\n":
            j += 2 if quote == '"' and s[j] == "\\" else 1
        text = s[self.i + 1 : j]
        self.i = j + 1
        return text

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_space(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                m = _BARE_KEY.match(self.s, self.i)
                if m is None:
                    return parts
                parts.append(m.group())
                self.i = m.end()
            self.skip_space(newlines=False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def value(self, path: Path) -> None:
        c = self.peek()
        if c == "[":
            self.i += 1
            index = 0
            while self.i < len(self.s):
                self.skip_space(newlines=True)
                if self.peek() == "]":
                    self.i += 1
                    return
                start = self.i
                self.found.setdefault((*path, index), start)
                self.value((*path, index))
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.i += 1
                    index += 1
                elif self.i == start:
                    self.i += 1  # not TOML tomllib accepted; move on rather than loop
            return
        if c == "{":
            self.i += 1
            while self.i < len(self.s):
                self.skip_space(newlines=True)
                if self.peek() in ("}", ""):
                    self.i += 1
                    return
                start = self.i
                key = self.key()
                if not key:
                    self.i += 1
                    continue
                self.found.setdefault((*path, *key), start)
                self.skip_space(newlines=False)
                if self.peek() == "=":
                    self.i += 1
                self.skip_space(newlines=False)
                self.value((*path, *key))
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.i += 1
            return
        if c in ('"', "'"):
            self.string()
            return
        s = self.s
        while self.i < len(s) and s[self.i] not in ",]}\n#":
            self.i += 1

    def resolve(self, key: list[str]) -> Path:
        """A header's key with the current element of each array of tables it passes."""
        out: list[str | int] = []
        for part in key:
            out.append(part)
            count = self.tables.get(tuple(out))
            if count:
                out.append(count - 1)
        return tuple(out)

    def document(self) -> dict[Path, tuple[int, int]]:
        current: Path = ()
        s = self.s
        while True:
            self.skip_space(newlines=True)
            if self.i >= len(s):
                break
            start = self.i
            if s.startswith("[[", self.i):
                self.i += 2
                key = self.key()
                table = (*self.resolve(key[:-1]), key[-1]) if key else ()
                count = self.tables.get(table, 0) + 1
                self.tables[table] = count
                current = (*table, count - 1)
                self.found.setdefault(table, start)
                self.found.setdefault(current, start)
                self.skip_line()
            elif s[self.i] == "[":
                self.i += 1
                current = self.resolve(self.key())
                self.found.setdefault(current, start)
                self.skip_line()
            else:
                key = self.key()
                if not key:
                    self.skip_line()
                    continue
                path = (*current, *key)
                self.found.setdefault(path, start)
                self.skip_space(newlines=False)
                if self.peek() == "=":
                    self.i += 1
                self.skip_space(newlines=False)
                self.value(path)
        return {path: self.at(offset) for path, offset in self.found.items()}


def _escaped(s: str, j: int) -> bool:
    backslashes = 0
    while j - backslashes - 1 >= 0 and s[j - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_positions(text: str) -> dict[Path, tuple[int, int]]:
    return _Scanner(text).document()


def nearest(positions: dict[Path, tuple[int, int]], path: Path) -> tuple[int, int]:
    """The position of ``path``, else of its closest enclosing key (else 1:1)."""
    for end in range(len(path), 0, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return (1, 1)


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\[\.\.\.\]")


def parse_msgspec_path(where: str) -> Path:
    """``$.channels[0].config.corp_id`` → ``("channels", 0, "config", "corp_id")``."""
    out: list[str | int] = []
    for m in _STEP.finditer(where.removeprefix("$")):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            break  # a dict key msgspec does not name: stop at the dict
    return tuple(out)
