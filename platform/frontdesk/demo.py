"""The embedded demo's tenant: users for each role, customers and tickets."""

from __future__ import annotations

import msgspec

from frontdesk.auth import service as auth
from frontdesk.config import Settings
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.errors import NotFound
from frontdesk.identity import service as identity
from frontdesk.identity.normalise import ContactKind
from frontdesk.runtime import Runtime
from frontdesk.tenancy import service as tenancy
from frontdesk.tickets import service as tickets
from frontdesk.tickets.states import MessageKind, Mood, Priority

DEMO_SLUG = "demo"
DEMO_PASSWORD = "frontdesk-demo"  # noqa: S105 - printed on purpose; demo data only


class DemoLogins(msgspec.Struct, frozen=True):
    logins: list[tuple[str, str]]


USERS = (
    ("agent", "agent@demo.example.com", "Li Na (客服专员)", "front-line"),
    ("engineer", "engineer@demo.example.com", "Wang Wei (售后工程师)", "engineering"),
    ("success_manager", "success@demo.example.com", "Zhang Min (客户成功经理)", "success"),
)

CUSTOMERS = (
    ("Chen Jie", "chen.jie@example.com", "+8613812345678", "vip"),
    ("Alice Martin", "alice@example.org", "+14155550123", "high_value"),
    ("Bob Smith", "bob.smith@example.net", "+442079460958", "new"),
)

TICKETS = (
    (0, "Router drops the connection every evening", "fault", Priority.HIGH, Mood.ANXIOUS, "phone"),
    (1, "Which plan includes SSO?", "pre_sales", Priority.NORMAL, Mood.CALM, "email"),
    (
        2,
        "Wrong size delivered, want to exchange",
        "return_exchange",
        Priority.NORMAL,
        None,
        "webchat",
    ),
    (0, "Still no answer about my refund", "complaint", Priority.URGENT, Mood.UPSET, "email"),
)


async def seed_demo(settings: Settings) -> DemoLogins:
    """Idempotent: a second run finds the tenant and only prints the logins."""
    logins = [("admin", "admin@demo.example.com")] + [(r, e) for r, e, _, _ in USERS]
    runtime = Runtime(settings)
    try:
        async with runtime.db.session() as session:
            try:
                await tenancy.get_tenant_by_slug(session, DEMO_SLUG)
                return DemoLogins(logins)
            except NotFound:
                pass
        async with runtime.db.session() as session:
            signup = await tenancy.sign_up(
                session,
                runtime,
                name="Demo Company (演示公司)",
                slug=DEMO_SLUG,
                admin_email="admin@demo.example.com",
                admin_name="Demo Admin",
                admin_password=DEMO_PASSWORD,
            )
            tenant_id = signup.tenant.id
            cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
            admin_user = await auth.get_user(session, signup.admin_user_id)
            admin = await auth.principal_for_user(session, admin_user)
            teams = {t.slug: t for t in await auth.list_teams(session)}
            users = {}
            for role_name, email, name, team_slug in USERS:
                user = await auth.create_user(
                    session,
                    cipher,
                    email=email,
                    display_name=name,
                    password=DEMO_PASSWORD,
                    role=await auth.get_role_by_name(session, role_name),
                    actor_user_id=admin.user_id,
                )
                await auth.set_team_member(session, admin.user_id, teams[team_slug], user)
                users[role_name] = user
            customers = []
            for name, email, phone, tier in CUSTOMERS:
                customers.append(
                    await identity.create_customer(
                        session,
                        cipher,
                        actor_user_id=admin.user_id,
                        display_name=name,
                        tier=tier,
                        success_manager_id=users["success_manager"].id
                        if tier in ("vip", "high_value")
                        else None,
                        contacts=[
                            identity.NewContact(kind=ContactKind.EMAIL, value=email),
                            identity.NewContact(kind=ContactKind.PHONE, value=phone),
                        ],
                    )
                )
            for index, subject, category, priority, mood, channel in TICKETS:
                ticket = await tickets.open_ticket(
                    session,
                    actor_user_id=admin.user_id,
                    customer_id=customers[index].id,
                    subject=subject,
                    channel=channel,
                    priority=priority,
                    category=category,
                    mood=mood,
                )
                await tickets.add_agent_message(
                    session, admin, ticket, kind=MessageKind.NOTE, body="Demo ticket: try replying."
                )
        return DemoLogins(logins)
    finally:
        await runtime.close()
