"""The ``frontdesk`` command: demo, serve, db, keys."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
from pathlib import Path
from typing import Any

import click

from frontdesk.config import Settings, load_settings
from frontdesk.errors import FrontdeskError


def _settings() -> Settings:
    try:
        return load_settings()
    except FrontdeskError as exc:
        raise click.ClickException(str(exc)) from None


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except FrontdeskError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="frontdesk")
def main() -> None:
    """Frontdesk: one ticket pipeline for every channel."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema (idempotent)."""
    from frontdesk.migrate import current_revision, upgrade

    settings = _settings()
    _run(upgrade(settings, revision))
    click.echo(f"database at revision {_run(current_revision(settings))}")


@main.group()
def keys() -> None:
    """Master and tenant keys."""


@keys.command("rotate")
@click.option(
    "--no-new-version",
    is_flag=True,
    help="Only re-wrap under the newest master key already in the keyring "
    "(when keys come from FRONTDESK_MASTER_KEY, add the new version there first).",
)
def keys_rotate(no_new_version: bool) -> None:
    """Add a master key version and re-wrap every tenant's data keys under it."""
    from frontdesk.crypto.keyring import add_master_key_version
    from frontdesk.runtime import Runtime
    from frontdesk.tenancy.service import rewrap_all_tenant_keys

    settings = _settings()
    if not no_new_version:
        try:
            version = add_master_key_version(settings)
        except FrontdeskError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"added master key version {version}")

    async def rewrap() -> tuple[int, int]:
        runtime = Runtime(settings)
        try:
            return await rewrap_all_tenant_keys(runtime)
        finally:
            await runtime.close()

    tenants, rows = _run(rewrap())
    click.echo(f"re-wrapped {rows} key(s) of {tenants} tenant(s); old data still decrypts")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the API (production: run behind a load balancer, several processes)."""
    import uvicorn

    from frontdesk.app import create_app
    from frontdesk.logs import configure_logging

    configure_logging()
    # Our JSON lines, with one access line per request from the app (request ids).
    uvicorn.run(create_app(_settings()), host=host, port=port, log_config=None, access_log=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Migrate, create a demo tenant with users and tickets, and serve (embedded)."""
    import uvicorn

    from frontdesk.app import create_app
    from frontdesk.demo import DEMO_PASSWORD, seed_demo
    from frontdesk.migrate import upgrade

    settings = _settings()
    _run(upgrade(settings))
    created = _run(seed_demo(settings))
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"Frontdesk demo: {base}  (API docs: {base}/schema)")
    click.echo(f"data folder: {settings.data_dir.resolve()}")
    click.echo("tenant 'demo'; sign in with POST /api/v1/auth/login, password for all:")
    click.echo(f"  {DEMO_PASSWORD}")
    for role, email in created.logins:
        click.echo(f"  {role:<16} {email}")
    click.echo("")
    sys.stdout.flush()
    uvicorn.run(create_app(settings, channel_services=True), host=host, port=port, log_level="info")


@main.command()
@click.option(
    "--sync-seconds",
    default=10.0,
    show_default=True,
    type=float,
    help="How often to pick up channels turned on, off or reconfigured.",
)
def listen(sync_seconds: float) -> None:
    """Run the listeners of push channels (an email channel's SMTP/LMTP server) until stopped.

    Received mail goes through the same intake as the webhook. Without Redis,
    this process also runs the jobs that ingest it.
    """
    import signal

    from frontdesk.channels.runner import run_listeners
    from frontdesk.runtime import Runtime

    settings = _settings()

    async def run() -> None:
        runtime = Runtime(settings)
        await runtime.start()
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(run_listeners(runtime, every=sync_seconds))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        click.echo("listeners running", err=True)
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            await runtime.close()
            click.echo("listeners stopped", err=True)

    _run(run())


@main.command()
@click.option(
    "--threads", default=None, type=int, help="Worker threads (default FRONTDESK_WORKER_THREADS)."
)
@click.option(
    "--sweep-seconds",
    default=30,
    show_default=True,
    type=int,
    help="How often to re-send jobs of work left behind (0: never).",
)
@click.option(
    "--poll-tick-seconds",
    default=10,
    show_default=True,
    type=int,
    help="How often to look for pull channels due a poll (0: never; "
    "each is polled every FRONTDESK_POLL_SECONDS).",
)
@click.option(
    "--timer-seconds",
    default=None,
    type=float,
    help="How often the timer scheduler claims due timers (default FRONTDESK_TIMER_TICK_MS; "
    "0: never, for a worker that only runs jobs).",
)
@click.option(
    "--metrics-port",
    default=0,
    type=int,
    envvar="FRONTDESK_WORKER_METRICS_PORT",
    help="Serve this worker's Prometheus metrics (jobs, SLA timers, deliveries) on this port "
    "(0: off).",
)
def worker(
    threads: int | None,
    sweep_seconds: int,
    poll_tick_seconds: int,
    timer_seconds: float | None,
    metrics_port: int,
) -> None:
    """Run background jobs from Redis (ingest, deliver, poll, timers) and the timer
    scheduler; stop with SIGTERM or Ctrl-C."""
    import signal
    import threading
    import time

    from frontdesk.jobs import Jobs
    from frontdesk.logs import configure_logging

    configure_logging()
    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException(
            "FRONTDESK_REDIS_URL is not set: without Redis, jobs run inside the app process"
        )
    jobs = Jobs(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        from frontdesk.metrics import watch_queues

        watch_queues(jobs)
        start_http_server(metrics_port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    jobs.start_worker(threads=threads or settings.worker_threads)
    click.echo(f"worker started ({threads or settings.worker_threads} threads)", err=True)
    # A worker started after a crash hands the dead one's jobs back at once
    # (when its heartbeat is already stale), not a tick later.
    _periodic(jobs.requeue_dead_workers, "handing back a dead worker's jobs")
    # A dead worker's unacknowledged jobs are handed back once its heartbeat is
    # stale: check twice per heartbeat timeout, and at least as often as the sweep.
    tick = settings.worker_heartbeat_ms / 2000
    if sweep_seconds:
        tick = min(tick, sweep_seconds)
    if poll_tick_seconds:
        tick = min(tick, poll_tick_seconds)
    tick = max(tick, 0.5)
    requeue_every = tick
    if timer_seconds is None:
        timer_seconds = settings.timer_tick_ms / 1000
    if timer_seconds > 0:
        tick = min(tick, timer_seconds)
    next_sweep = time.monotonic() + sweep_seconds
    next_polls = time.monotonic()
    next_requeue = time.monotonic()
    timer_ticks = _TimerTicks()
    try:
        while not stop.wait(tick):
            if timer_seconds > 0:
                _periodic(timer_ticks, "running due timers")
            if time.monotonic() >= next_requeue:
                _periodic(jobs.requeue_dead_workers, "handing back a dead worker's jobs")
                next_requeue = time.monotonic() + requeue_every
            if sweep_seconds and time.monotonic() >= next_sweep:
                _periodic(lambda: _sweep_once(jobs), "sweeping")
                next_sweep = time.monotonic() + sweep_seconds
            if poll_tick_seconds and time.monotonic() >= next_polls:
                _periodic(_schedule_polls_once, "scheduling polls")
                next_polls = time.monotonic() + poll_tick_seconds
    finally:
        jobs.close()
        click.echo("worker stopped", err=True)


def _periodic(fn: Any, what: str) -> None:
    """Housekeeping that must outlive a passing database or Redis outage."""
    try:
        fn()
    except Exception as exc:
        click.echo(f"{what} failed, will retry: {type(exc).__name__}: {exc}", err=True)


class _TimerTicks:
    """The scheduler's ticks on the worker's event loop, one at a time, never
    waited for: the housekeeping loop (handing back a dead worker's jobs, the
    sweep) must not queue behind a tick that the jobs on that loop slow down."""

    def __init__(self) -> None:
        self.running: concurrent.futures.Future[int] | None = None

    def __call__(self) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        from frontdesk.jobs import worker_runtime
        from frontdesk.timers.service import run_due

        if self.running is not None:
            if not self.running.done():
                return
            previous, self.running = self.running, None
            previous.result()  # a failed tick is reported (and the next one runs)
        loop = get_event_loop_thread()
        if loop is not None:
            self.running = asyncio.run_coroutine_threadsafe(run_due(worker_runtime()), loop.loop)


def _sweep_once(jobs: Any) -> None:
    from dramatiq.asyncio import get_event_loop_thread

    from frontdesk.channels.tasks import sweep
    from frontdesk.jobs import worker_runtime

    loop = get_event_loop_thread()
    if loop is not None:
        sent = loop.run_coroutine(sweep(worker_runtime()))
        if sent:
            click.echo(f"sweep: re-sent {sent} job(s)", err=True)


def _schedule_polls_once() -> None:
    from dramatiq.asyncio import get_event_loop_thread

    from frontdesk.channels.runner import schedule_polls
    from frontdesk.jobs import worker_runtime

    loop = get_event_loop_thread()
    if loop is not None:
        loop.run_coroutine(schedule_polls(worker_runtime()))


@main.group()
def adapters() -> None:
    """Channel adapters."""


@adapters.command("list")
def adapters_list() -> None:
    """Installed channel adapters and their versions."""
    from frontdesk.channels import SDK_VERSION
    from frontdesk.channels.registry import Registry

    try:
        registry = Registry()
    except FrontdeskError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"channel SDK {SDK_VERSION}")
    infos = registry.info()
    if not infos:
        click.echo("no adapters installed")
    for info in infos:
        source = info.distribution or info.plugin
        click.echo(f"{info.kind:<12} {info.version:<10} {info.display_name}  ({source})")


@adapters.command("new")
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to create the package in.",
)
def adapters_new(name: str, dest: Path) -> None:
    """Scaffold a channel adapter package that passes the contract kit as it is."""
    from frontdesk.channels.scaffold import create_adapter_package

    try:
        path = create_adapter_package(name, dest)
    except FrontdeskError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {path}")
    click.echo("next: pip install -e '" + str(path) + "[test]' && pytest " + str(path / "tests"))


@main.group()
def tenants() -> None:
    """Tenants: manifests in tenants/ (docs/tenants.md), quotas, deletion."""


@tenants.command("limits")
@click.argument("slug")
@click.option("--api-per-minute", type=int, help="API requests per minute, whole tenant.")
@click.option("--token-api-per-minute", type=int, help="API requests per minute, one token.")
@click.option("--inbound-per-minute", type=int, help="Inbound messages per minute at the intake.")
@click.option("--storage-bytes", type=int, help="Bytes of stored attachments.")
@click.option(
    "--default",
    "defaults",
    multiple=True,
    type=click.Choice(["api-per-minute", "token-api-per-minute", "inbound-per-minute",
                       "storage-bytes"]),
    help="Go back to the platform's default for this limit (repeatable).",
)  # fmt: skip
def tenants_limits(
    slug: str,
    api_per_minute: int | None,
    token_api_per_minute: int | None,
    inbound_per_minute: int | None,
    storage_bytes: int | None,
    defaults: tuple[str, ...],
) -> None:
    """Show a tenant's quotas, or change them (0: no limit). Applies within seconds."""
    import msgspec

    from frontdesk.quotas.service import LimitChanges, read_limits, set_limits
    from frontdesk.runtime import Runtime
    from frontdesk.tenancy.service import get_tenant_by_slug

    given: dict[str, int | None] = {
        name: value
        for name, value in (
            ("api_per_minute", api_per_minute),
            ("token_api_per_minute", token_api_per_minute),
            ("inbound_per_minute", inbound_per_minute),
            ("storage_bytes", storage_bytes),
        )
        if value is not None
    }
    for name in defaults:
        given[name.replace("-", "_")] = None
    settings = _settings()

    async def run() -> dict[str, int]:
        runtime = Runtime(settings)
        try:
            async with runtime.db.session() as session:
                tenant_id = (await get_tenant_by_slug(session, slug)).id
            async with runtime.db.session(tenant_id) as session:
                if given:
                    limits = await set_limits(session, settings, LimitChanges(**given))
                else:
                    limits = await read_limits(session, settings)
            return msgspec.structs.asdict(limits)
        finally:
            await runtime.close()

    for name, value in _run(run()).items():
        click.echo(f"{name.replace('_', '-'):<22} {value if value else 'no limit'}")


@tenants.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Really delete: there is no undo.")
def tenants_delete(slug: str, yes: bool) -> None:
    """Delete a tenant for good: its keys (crypto-shredding), every row, its files
    and its Redis keys."""
    from frontdesk.runtime import Runtime
    from frontdesk.tenancy.service import delete_tenant

    if not yes:
        raise click.ClickException(f"this destroys every trace of {slug!r}; add --yes to do it")
    settings = _settings()

    async def run() -> Any:
        runtime = Runtime(settings)
        try:
            return await delete_tenant(runtime, slug)
        finally:
            await runtime.close()

    done = _run(run())
    click.echo(
        f"deleted tenant {slug} ({done.tenant_id}): keys destroyed, {done.rows} row(s), "
        f"its attachment files and {done.redis_keys} Redis key(s)"
    )


@tenants.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the plan of changes and change nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Deactivate the tenant's users and channels the manifest does not list.",
)
def tenants_apply(file: Path, dry_run: bool, prune: bool) -> None:
    """Create or update a tenant to match a manifest, in one transaction."""
    from frontdesk.manifests.apply import apply_manifest
    from frontdesk.manifests.load import load_manifest
    from frontdesk.runtime import Runtime

    settings = _settings()
    loaded = _load(load_manifest, file)

    def show(plan: Any) -> None:
        click.echo(f"tenant {plan.tenant}:")
        for line in plan.lines():
            click.echo(f"  {line}")

    async def run() -> Any:
        runtime = Runtime(settings)
        try:
            return await apply_manifest(
                runtime, loaded, prune=prune, dry_run=dry_run, show_plan=show
            )
        finally:
            await runtime.close()

    plan = _run(run())
    if not plan.applied:
        click.echo("dry run: nothing changed")
        return
    for name, url in plan.webhooks.items():
        click.echo(f"channel {name}: webhook URL {url}")
    for email, url in plan.invitations.items():
        click.echo(f"invitation for {email} (mail is not configured, pass it on): {url}")
    click.echo(f"applied {len(plan.changes)} change(s)")


def _load(load: Any, file: Path) -> Any:
    try:
        return load(file.read_text(encoding="utf-8"), str(file))
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: not UTF-8 text") from None
    except FrontdeskError as exc:
        raise click.ClickException(str(exc)) from None


@tenants.command("export")
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--secret-names-from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A manifest whose channels' secret_env variable names to keep.",
)
def tenants_export(slug: str, output: Path | None, secret_names_from: Path | None) -> None:
    """Write a tenant's current state as a manifest (secrets as variable names)."""
    from frontdesk.manifests.export import dumps, export_manifest
    from frontdesk.manifests.load import load_manifest
    from frontdesk.runtime import Runtime

    settings = _settings()
    names = None
    if secret_names_from is not None:
        earlier = _load(load_manifest, secret_names_from).manifest
        names = {c.name.strip(): dict(c.secret_env) for c in earlier.channels}

    async def run() -> Any:
        runtime = Runtime(settings)
        try:
            return await export_manifest(runtime, slug, secret_names=names)
        finally:
            await runtime.close()

    text = dumps(_run(run()))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("export")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--since", type=click.DateTime(), help="From this UTC time on.")
@click.option("--until", type=click.DateTime(), help="Before this UTC time.")
@click.option("--action", help="Only entries of this action (user.signed_in, channel.updated…).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def audit_export(
    slug: str,
    fmt: str,
    since: Any,
    until: Any,
    action: str | None,
    output: Path | None,
) -> None:
    """Export a tenant's audit log, oldest first, as JSON lines or CSV."""
    import datetime as dt

    from frontdesk.audit.service import export_stream
    from frontdesk.runtime import Runtime
    from frontdesk.tenancy.service import get_tenant_by_slug

    settings = _settings()

    def utc(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)

    async def run() -> None:
        runtime = Runtime(settings)
        try:
            async with runtime.db.session() as session:
                tenant = await get_tenant_by_slug(session, slug)
            sink = output.open("wb") if output else sys.stdout.buffer
            try:
                chunks = export_stream(
                    runtime, tenant.id, fmt, since=utc(since), until=utc(until), action=action
                )
                async for chunk in chunks:
                    sink.write(chunk)
            finally:
                if output:
                    sink.close()
                else:
                    sink.flush()
        finally:
            await runtime.close()

    _run(run())
