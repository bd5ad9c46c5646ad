"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Response, Router, get
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from sqlalchemy import text

from frontdesk import __version__
from frontdesk.api.deps import DEPENDENCIES
from frontdesk.api.problems import EXCEPTION_HANDLERS
from frontdesk.channels.registry import Registry
from frontdesk.config import Settings, load_settings
from frontdesk.logs import RequestLogMiddleware
from frontdesk.metrics import PREFIX
from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk")


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up (liveness)."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(state: State) -> Response[dict[str, object]]:
    """The process can serve: the database and Redis answer (readiness, 503 if not).

    Workers are reported too: none alive leaves the app serving (what arrives
    is stored and waits for them) but says ``degraded``, for an alert.
    """
    runtime: Runtime = state.runtime
    checks: dict[str, str] = {}
    try:
        async with runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"error: {type(exc).__name__}"
    workers = 0
    if runtime.jobs.in_process:
        checks["redis"] = "not configured"
        workers = runtime.jobs.live_workers()
    else:
        try:
            workers = await asyncio.wait_for(asyncio.to_thread(runtime.jobs.live_workers), 5)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    checks["workers"] = f"{workers} alive" if workers else "none alive"
    ok = all(checks[k] in ("ok", "not configured") for k in ("database", "redis"))
    status = "unavailable" if not ok else "ok" if workers else "degraded"
    return Response({"status": status, "checks": checks}, status_code=200 if ok else 503)


class MetricsController(PrometheusController):
    """Prometheus' scrape target. Operators' figures with no tenant data in them;
    keep it on the internal network (see infra/README.md)."""

    path = "/metrics"
    include_in_schema = False


def adapter_routers(registry: Registry) -> list[Router]:
    """Each installed adapter's own routes, under ``/channels/{kind}/``.

    They take the same dependencies as the core's handlers (``runtime``,
    ``db``) and, the SDK's own (1.1), ``channel_gateway``: a visitor socket
    opens its channel by public id and submits to the intake through it.
    """
    from frontdesk.channels.gateway import provide_gateway

    routers = []
    for kind in registry.kinds():
        handlers = list(registry.get(kind).routes())
        if handlers:
            routers.append(
                Router(
                    path=f"/channels/{kind}",
                    route_handlers=handlers,
                    dependencies={"channel_gateway": Provide(provide_gateway)},
                )
            )
    return routers


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    *,
    channel_services: bool = False,
) -> Litestar:
    """Build the app; ``runtime`` lets tests and the demo share one already built.

    ``channel_services``: this one process is the whole platform (the embedded
    demo): it also runs the channels' listeners and the pollers' scheduler
    tick, which ``frontdesk listen`` and ``frontdesk worker`` run otherwise.
    """
    from frontdesk.attachments.endpoints import CONTROLLERS as ATTACHMENTS
    from frontdesk.auth.endpoints import CONTROLLERS as AUTH
    from frontdesk.auth.sso.endpoints import CONTROLLERS as SSO
    from frontdesk.calls.endpoints import CONTROLLERS as CALLS
    from frontdesk.canned.endpoints import CONTROLLERS as CANNED
    from frontdesk.channels.endpoints import CONTROLLERS as CHANNELS
    from frontdesk.channels.endpoints import webhook_handler
    from frontdesk.followups.endpoints import CONTROLLERS as FOLLOWUPS
    from frontdesk.handoffs.endpoints import CONTROLLERS as HANDOFFS
    from frontdesk.identity.endpoints import CONTROLLERS as IDENTITY
    from frontdesk.incidents.endpoints import CONTROLLERS as INCIDENTS
    from frontdesk.notifications.endpoints import CONTROLLERS as NOTIFICATIONS
    from frontdesk.privacy.endpoints import CONTROLLERS as PRIVACY
    from frontdesk.quotas.endpoints import CONTROLLERS as QUOTAS
    from frontdesk.realtime.endpoints import inbox_socket
    from frontdesk.reports.endpoints import CONTROLLERS as REPORTS
    from frontdesk.routing.endpoints import CONTROLLERS as ROUTING
    from frontdesk.tenancy.endpoints import CONTROLLERS as TENANCY
    from frontdesk.tickets.endpoints import CONTROLLERS as TICKETS
    from frontdesk.web.pages import web_router

    settings = settings or (runtime.settings if runtime else load_settings())
    owned = runtime is None
    registry = runtime.registry if runtime else Registry()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings, registry=registry)
        await rt.start()
        app.state.runtime = rt
        background: list[asyncio.Task[None]] = []
        if channel_services:
            from frontdesk.channels.runner import run_listeners, tick_forever

            background.append(asyncio.create_task(run_listeners(rt)))
            background.append(asyncio.create_task(tick_forever(rt, every=10.0)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned:
                await rt.close()

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            *TENANCY,
            *AUTH,
            *SSO,
            *IDENTITY,
            *TICKETS,
            *ATTACHMENTS,
            *CHANNELS,
            webhook_handler(settings, registry),
            *ROUTING,
            *HANDOFFS,
            *CALLS,
            *QUOTAS,
            *PRIVACY,
            *NOTIFICATIONS,
            *INCIDENTS,
            *FOLLOWUPS,
            *CANNED,
            *REPORTS,
            inbox_socket,
            MetricsController,
            web_router(),
            *adapter_routers(registry),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            RequestLogMiddleware,
            PrometheusConfig(
                app_name="frontdesk",
                prefix=PREFIX,
                group_path=True,
                exclude=["^/metrics", "^/healthz", "^/readyz"],
                scopes={ScopeType.HTTP},
            ).middleware,
        ],
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Frontdesk API",
            version=__version__,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        response_cache_config=ResponseCacheConfig(),
        debug=False,
    )
