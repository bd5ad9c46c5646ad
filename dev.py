#!/usr/bin/env python3
"""Frontdesk's developer bootstrap: standard library only, Python 3.11+.

    python3 dev.py demo [ARGS...]   run the embedded demo (args go to `frontdesk demo`)
    python3 dev.py test [ARGS...]   check PostgreSQL and Redis, then run pytest (args go to pytest;
                                    on every core, `-n auto`, unless ARGS give -n: `-n 0` runs
                                    serially, for a debugger or -s)
    python3 dev.py lint             ruff check, ruff format --check, mypy
    python3 dev.py fmt              ruff format and ruff check --fix
    python3 dev.py venv             only create or refresh .venv
    python3 dev.py pin              regenerate constraints.txt from a fresh resolve

Every command first makes sure `.venv` exists and matches constraints.txt,
pyproject.toml and any adapters/*/pyproject.toml; when one of them changes,
`.venv` is rebuilt from scratch (a hash of the inputs is kept in
.venv/frontdesk-stamp).

Environment read by `test`:
    CI                          "true": a backend that is down fails the run (exit 1)
    FRONTDESK_TEST_POSTGRES_URL default postgresql://postgres@127.0.0.1:5432/postgres
    FRONTDESK_TEST_REDIS_URL    default redis://127.0.0.1:6379/0
    FRONTDESK_TEST_POSTGRES=0   skip the PostgreSQL check (and the tests skip that backend)
    FRONTDESK_TEST_REDIS=0      same for Redis
    FRONTDESK_BROWSER_TESTS=0   never install Chromium for tests/web
"""

# ruff: noqa: S603, S606
# (this script exists to run processes: pip, pytest, ruff, apt-get, the service starters)

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
VENV_PYTHON = VENV_BIN / "python"
STAMP = VENV / "frontdesk-stamp"
CONSTRAINTS = ROOT / "constraints.txt"
PYPROJECT = ROOT / "pyproject.toml"
ADAPTERS = ROOT / "adapters"

# Bump when the way .venv is built changes, so existing ones get rebuilt.
BOOTSTRAP_VERSION = "1"

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SERVICE_WAIT_SECONDS = 20.0
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
CHROMIUM = Path("/usr/bin/chromium")

PIN_HEADER = """\
# Exact versions of every direct and transitive dependency of frontdesk and
# its "dev" extra (and of adapters/*, when there are any), for Python 3.11.
#
# Generated; do not edit by hand. Regenerate with:
#
#     python3 dev.py pin
#
# which creates a fresh virtual environment in a temporary folder, runs
# `pip install -e ".[dev]"` (plus each adapters/*/ editable) with no
# constraints, and writes `pip freeze --exclude-editable` here.
# dev.py installs with `pip install -c constraints.txt ...`, so a package
# missing from this file is installed unpinned: re-pin after changing
# dependencies in any pyproject.toml.
"""


# --- output -----------------------------------------------------------------


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def warn_loudly(lines: Sequence[str]) -> None:
    bar = "!" * 78
    print(f"\n{bar}", file=sys.stderr)
    for line in lines:
        print(f"!! {line}", file=sys.stderr)
    print(f"{bar}\n", file=sys.stderr, flush=True)


def die(message: str, code: int = 1) -> NoReturn:
    say(f"error: {message}")
    raise SystemExit(code)


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def run(cmd: Sequence[str | os.PathLike[str]], **kwargs: Any) -> int:
    """Run a command, echoing it; return its exit code."""
    say(f"$ {shlex.join(str(c) for c in cmd)}")
    return subprocess.run([str(c) for c in cmd], check=False, **kwargs).returncode


def run_or_die(cmd: Sequence[str | os.PathLike[str]], **kwargs: Any) -> None:
    code = run(cmd, **kwargs)
    if code != 0:
        die(f"command failed with exit code {code}: {shlex.join(str(c) for c in cmd)}", code)


# --- the virtual environment ----------------------------------------------


def base_python() -> str:
    """The interpreter to build venvs from, even when dev.py runs inside .venv."""
    return getattr(sys, "_base_executable", None) or sys.executable


def adapter_dirs() -> list[Path]:
    if not ADAPTERS.is_dir():
        return []
    return sorted(p.parent for p in ADAPTERS.glob("*/pyproject.toml"))


def check_project_files() -> None:
    if not PYPROJECT.is_file():
        die(f"{PYPROJECT} is missing")
    # hatchling refuses to build (even editable) when the readme it names is missing.
    try:
        readme = tomllib.loads(PYPROJECT.read_text()).get("project", {}).get("readme")
    except tomllib.TOMLDecodeError as exc:
        die(f"pyproject.toml is not valid TOML: {exc}")
    if isinstance(readme, dict):
        readme = readme.get("file")
    if isinstance(readme, str) and not (ROOT / readme).is_file():
        die(f"{readme} is missing; pyproject.toml names it as the readme and hatchling needs it")


def venv_fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"bootstrap {BOOTSTRAP_VERSION}\n".encode())
    digest.update(f"python {sys.version_info[:3]} {Path(base_python()).resolve()}\n".encode())
    inputs = [CONSTRAINTS, PYPROJECT, *(d / "pyproject.toml" for d in adapter_dirs())]
    for path in inputs:
        digest.update(f"file {path.relative_to(ROOT)}\n".encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\n")
    return digest.hexdigest()


def pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    env.pop("PYTHONHOME", None)
    return env


def create_venv(target: Path) -> Path:
    """Create an empty venv at target (replacing anything there); return its python."""
    if target.exists():
        shutil.rmtree(target)
    run_or_die([base_python(), "-m", "venv", target])
    return target / VENV_BIN.name / "python"


def install_project(python: Path, *, constraints: Path | None) -> None:
    """pip install -e ".[dev]" and every adapter, editable, in one resolve."""
    cmd: list[str | os.PathLike[str]] = [python, "-m", "pip", "install", "--progress-bar", "off"]
    if constraints is not None:
        cmd += ["-c", constraints]
    cmd += ["-e", f"{ROOT}[dev]"]
    for adapter in adapter_dirs():
        # With its "test" extra when it has one: the adapter's tests run in the suite.
        extras = tomllib.loads((adapter / "pyproject.toml").read_text()).get("project", {})
        has_test = "test" in extras.get("optional-dependencies", {})
        cmd += ["-e", f"{adapter}[test]" if has_test else adapter]
    run_or_die(cmd, env=pip_env())


def ensure_venv() -> None:
    """Create .venv, or rebuild it when its inputs changed since it was built."""
    check_project_files()
    if not CONSTRAINTS.is_file():
        die("constraints.txt is missing; run `python3 dev.py pin` to create it")
    fingerprint = venv_fingerprint()
    if VENV_PYTHON.exists() and STAMP.is_file() and STAMP.read_text().strip() == fingerprint:
        return
    if VENV.exists():
        say(".venv is out of date (constraints.txt or a pyproject.toml changed); rebuilding it")
    else:
        say("creating .venv")
    python = create_venv(VENV)
    install_project(python, constraints=CONSTRAINTS)
    # Written last: an interrupted install leaves no stamp and is redone next time.
    STAMP.write_text(fingerprint + "\n")
    say(".venv is ready")


def venv_tool(name: str) -> Path:
    tool = VENV_BIN / name
    if not tool.exists():
        die(f"{tool} is missing; is it in the dev extra? (delete .venv to rebuild)")
    return tool


# --- services ----------------------------------------------------------------


class Endpoint:
    """Where a backend listens: a TCP host/port or a unix socket path."""

    def __init__(self, host: str, port: int, unix_path: str | None = None) -> None:
        self.host = host
        self.port = port
        self.unix_path = unix_path

    @property
    def is_local(self) -> bool:
        return self.unix_path is not None or self.host in LOCAL_HOSTS

    def __str__(self) -> str:
        if self.unix_path:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def connect(self, timeout: float) -> socket.socket:
        if self.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(self.unix_path)
            except OSError:
                sock.close()
                raise
            return sock
        sock = socket.create_connection((self.host or "127.0.0.1", self.port), timeout=timeout)
        sock.settimeout(timeout)
        return sock


def postgres_endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    port = parts.port or 5432
    host = unquote(parts.hostname or "")
    # libpq style: postgresql:///db?host=/var/run/postgresql
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key == "host" and value:
            host = unquote(value)
        elif key == "port" and value.isdigit():
            port = int(value)
    if host.startswith("/"):
        return Endpoint(host, port, unix_path=f"{host}/.s.PGSQL.{port}")
    return Endpoint(host or "127.0.0.1", port)


def redis_endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return Endpoint("", 0, unix_path=parts.path)
    return Endpoint(parts.hostname or "127.0.0.1", parts.port or 6379)


def postgres_answers(endpoint: Endpoint) -> bool:
    """PostgreSQL answers an SSLRequest with one byte, 'S' or 'N'."""
    try:
        with endpoint.connect(timeout=2.0) as sock:
            sock.sendall(struct.pack("!ii", 8, 80877103))
            return sock.recv(1) in {b"S", b"N"}
    except OSError:
        return False


def redis_answers(endpoint: Endpoint, tls: bool) -> bool:
    """Redis answers PING with +PONG (or an error such as -NOAUTH: it is up)."""
    try:
        with endpoint.connect(timeout=2.0) as sock:
            if tls:  # rediss://: the TCP port accepting is as far as stdlib-only checks go
                return True
            sock.sendall(b"PING\r\n")
            return sock.recv(64)[:1] in {b"+", b"-"}
    except OSError:
        return False


def start_postgres() -> bool:
    if not shutil.which("pg_ctlcluster"):
        say("pg_ctlcluster not found; cannot start PostgreSQL")
        return False
    conf = Path("/etc/postgresql")
    versions = sorted(p.name for p in conf.iterdir()) if conf.is_dir() else []
    if not versions:
        say("no cluster under /etc/postgresql; cannot start PostgreSQL")
        return False
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    return run(cmd, stdin=subprocess.DEVNULL) == 0


def start_redis(endpoint: Endpoint) -> bool:
    if not shutil.which("redis-server"):
        say("redis-server not found; cannot start Redis")
        return False
    if endpoint.unix_path:
        say(f"Redis at {endpoint} is a unix socket; start it yourself")
        return False
    for folder in ("/var/lib/redis", "/var/log/redis"):
        with contextlib.suppress(OSError):
            Path(folder).mkdir(parents=True, exist_ok=True)
    cmd = [
        "redis-server",
        "--daemonize", "yes",
        "--bind", "127.0.0.1", "-::1",
        "--port", str(endpoint.port),
        "--save", "",
        "--appendonly", "no",
        "--dir", "/var/lib/redis",
        "--logfile", "/var/log/redis/ci.log",
    ]  # fmt: skip
    return run(cmd, stdin=subprocess.DEVNULL) == 0


def ensure_services(env: dict[str, str]) -> None:
    """Make PostgreSQL and Redis answer, or mark them skipped (or fail under CI)."""
    pg_url = env.setdefault("FRONTDESK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    redis_url = env.setdefault("FRONTDESK_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    tls = urlsplit(redis_url).scheme == "rediss"

    checks: dict[str, tuple[Endpoint, Callable[[], bool]]] = {}
    if env.get("FRONTDESK_TEST_POSTGRES") != "0":
        pg = postgres_endpoint(pg_url)
        checks["PostgreSQL"] = (pg, lambda: postgres_answers(pg))
    if env.get("FRONTDESK_TEST_REDIS") != "0":
        rd = redis_endpoint(redis_url)
        checks["Redis"] = (rd, lambda: redis_answers(rd, tls))

    down = [name for name, (_, answers) in checks.items() if not answers()]
    started = []
    for name in down:
        endpoint = checks[name][0]
        if not endpoint.is_local:
            say(f"{name} at {endpoint} does not answer and is not local; not starting it")
            continue
        say(f"{name} at {endpoint} does not answer; trying to start it")
        if start_postgres() if name == "PostgreSQL" else start_redis(endpoint):
            started.append(name)
    if started:
        say(f"waiting up to {SERVICE_WAIT_SECONDS:.0f} s for {', '.join(started)}")
        deadline = time.monotonic() + SERVICE_WAIT_SECONDS
        while started and time.monotonic() < deadline:
            time.sleep(0.5)
            started = [name for name in started if not checks[name][1]()]
        down = [name for name in down if not checks[name][1]()]

    for name in checks:
        if name not in down:
            say(f"{name} answers at {checks[name][0]}")
    if not down:
        return

    where = ", ".join(f"{name} at {checks[name][0]}" for name in down)
    if is_ci():
        die(
            f"CI=true and not answering: {where}. Start the service(s) "
            "(see infra/README.md) or point FRONTDESK_TEST_POSTGRES_URL / "
            "FRONTDESK_TEST_REDIS_URL at running ones."
        )
    lines = [f"NOT ANSWERING: {where}", ""]
    for name in down:
        flag = "FRONTDESK_TEST_POSTGRES" if name == "PostgreSQL" else "FRONTDESK_TEST_REDIS"
        env[flag] = "0"
        lines.append(f"{flag}=0 exported: tests that need {name} will be SKIPPED.")
    lines += ["", "Under CI (CI=true) this fails the run. See infra/README.md to start them."]
    warn_loudly(lines)


# --- browser tests (tests/web: the web chat widget in Chromium) -----------------


def ensure_chromium(env: dict[str, str]) -> None:
    """BROWSER TESTS HOOK: install Debian's chromium for Playwright to drive.

    Browser tests use the Python `playwright` package with
    executable_path=/usr/bin/chromium; never `playwright install` (its browser
    download cannot be fetched here). Called by `test` only when tests/web
    exists and FRONTDESK_BROWSER_TESTS is not "0".
    """
    if not CHROMIUM.exists():
        say(f"{CHROMIUM} is missing; installing Debian's chromium")
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if run(install, env=apt_env, stdin=subprocess.DEVNULL) != 0:
            run([*sudo, "apt-get", "update"], env=apt_env, stdin=subprocess.DEVNULL)
            run(install, env=apt_env, stdin=subprocess.DEVNULL)
    if CHROMIUM.exists():
        env.setdefault("FRONTDESK_CHROMIUM", str(CHROMIUM))
        return
    if is_ci():
        die(f"CI=true and {CHROMIUM} could not be installed (apt-get install chromium)")
    env["FRONTDESK_BROWSER_TESTS"] = "0"
    warn_loudly(
        [
            f"{CHROMIUM} could not be installed (apt-get install -y chromium).",
            "FRONTDESK_BROWSER_TESTS=0 exported: browser tests will be SKIPPED.",
        ]
    )


# --- commands -----------------------------------------------------------------


def cmd_venv(args: list[str]) -> int:
    ensure_venv()
    return 0


def cmd_demo(args: list[str]) -> int:
    ensure_venv()
    frontdesk = venv_tool("frontdesk")
    argv = [str(frontdesk), "demo", *args]
    say(f"$ {shlex.join(argv)}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(frontdesk, argv)  # replaces this process; Ctrl-C goes straight to the demo


def gives_workers(args: list[str]) -> bool:
    """Whether pytest ARGS already say how many xdist workers (or no xdist at all)."""
    for i, arg in enumerate(args):
        if arg in {"-n", "--numprocesses"} or arg.startswith(("--numprocesses=", "--dist")):
            return True
        if arg.startswith("-n") and arg[2:].isalnum():  # -n2, -nauto
            return True
        if arg == "-p" and i + 1 < len(args) and args[i + 1] == "no:xdist":
            return True
        if arg == "-pno:xdist":
            return True
    return False


def cmd_test(args: list[str]) -> int:
    ensure_venv()
    env = dict(os.environ)
    ensure_services(env)
    if (ROOT / "tests" / "web").is_dir() and env.get("FRONTDESK_BROWSER_TESTS") != "0":
        ensure_chromium(env)
    if not gives_workers(args):
        # One pytest-xdist worker per core; tests that share an expensive
        # module fixture are kept on one worker (@pytest.mark.xdist_group).
        args = ["-n", "auto", "--dist", "loadgroup", *args]
    return run([VENV_PYTHON, "-m", "pytest", *args], cwd=ROOT, env=env)


def cmd_lint(args: list[str]) -> int:
    ensure_venv()
    ruff = venv_tool("ruff")
    mypy = venv_tool("mypy")
    steps: list[tuple[str, list[str | os.PathLike[str]]]] = [
        ("ruff check", [ruff, "check", "."]),
        ("ruff format --check", [ruff, "format", "--check", "."]),
        ("mypy", [mypy]),
    ]
    failed = [name for name, cmd in steps if run(cmd, cwd=ROOT) != 0]
    if failed:
        say(f"lint FAILED: {', '.join(failed)}")
        return 1
    say("lint passed")
    return 0


def cmd_fmt(args: list[str]) -> int:
    ensure_venv()
    ruff = venv_tool("ruff")
    run([ruff, "format", "."], cwd=ROOT)
    return run([ruff, "check", "--fix", "."], cwd=ROOT)


def cmd_pin(args: list[str]) -> int:
    """Resolve from scratch in a throwaway venv and write constraints.txt."""
    check_project_files()
    with tempfile.TemporaryDirectory(prefix="frontdesk-pin-") as tmp:
        python = create_venv(Path(tmp) / "venv")
        install_project(python, constraints=None)
        frozen = subprocess.run(
            [str(python), "-m", "pip", "freeze", "--exclude-editable"],
            check=True,
            capture_output=True,
            text=True,
            env=pip_env(),
        ).stdout
    own = {"frontdesk"} | {f"frontdesk-{d.name}" for d in adapter_dirs()}
    lines = []
    for line in frozen.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-e ")):
            continue
        name = line.split("==", 1)[0].split(" @ ", 1)[0].strip().lower().replace("_", "-")
        if name in own:
            continue
        lines.append(line)
    lines.sort(key=lambda line: line.split("==", 1)[0].lower().replace("_", "-"))
    CONSTRAINTS.write_text(PIN_HEADER + "\n" + "\n".join(lines) + "\n")
    say(f"wrote {CONSTRAINTS.name} ({len(lines)} pins); .venv is rebuilt on its next use")
    return 0


COMMANDS = {
    "demo": cmd_demo,
    "test": cmd_test,
    "lint": cmd_lint,
    "fmt": cmd_fmt,
    "venv": cmd_venv,
    "pin": cmd_pin,
}


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (a friendly message on an old python3)
        die(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0 if argv else 2
    command, *rest = argv
    handler = COMMANDS.get(command)
    if handler is None:
        print(__doc__, file=sys.stderr)
        die(f"unknown command {command!r}", 2)
    os.chdir(ROOT)
    return handler(rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
