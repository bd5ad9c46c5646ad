"""Every permission and the built-in roles: the one table the API, pages and README share."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    TICKETS_READ = "tickets.read"
    # Without it a user sees only tickets of their teams or assigned to them.
    TICKETS_READ_ALL = "tickets.read_all"
    TICKETS_CREATE = "tickets.create"
    TICKETS_UPDATE = "tickets.update"
    TICKETS_ASSIGN = "tickets.assign"
    TICKETS_REPLY = "tickets.reply"
    TICKETS_NOTE = "tickets.note"
    TICKETS_ESCALATE = "tickets.escalate"
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_WRITE = "customers.write"
    CUSTOMERS_MERGE = "customers.merge"
    # Set a customer's tier and owning success manager.
    CUSTOMERS_OWN = "customers.own"
    CONTACTS_REVEAL = "contacts.reveal"
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    ROLES_MANAGE = "roles.manage"
    TEAMS_MANAGE = "teams.manage"
    CATEGORIES_MANAGE = "categories.manage"
    API_TOKENS_MANAGE = "api_tokens.manage"
    CHANNELS_MANAGE = "channels.manage"
    AUDIT_READ = "audit.read"
    # SLA policies and business-hours calendars (the tenant's and its teams').
    SLA_MANAGE = "sla.manage"
    # The tenant's routing rules.
    ROUTING_MANAGE = "routing.manage"
    # Personal-data requests: export everything about a customer, or erase it.
    CUSTOMERS_PRIVACY = "customers.privacy"
    # The tenant's quotas and what it uses of them.
    TENANT_USAGE = "tenant.usage"
    # Single sign-on: the tenant's provider, just-in-time users, SSO required.
    SSO_MANAGE = "sso.manage"
    # The tenant's canned replies (话术库); every ticket reader may use them.
    CANNED_REPLIES_MANAGE = "canned_replies.manage"
    # Reports and their exports (every ticket's figures, whatever the team).
    REPORTS_READ = "reports.read"


P = Permission

_AGENT = frozenset(
    {
        P.TICKETS_READ,
        P.TICKETS_READ_ALL,
        P.TICKETS_CREATE,
        P.TICKETS_UPDATE,
        P.TICKETS_ASSIGN,
        P.TICKETS_REPLY,
        P.TICKETS_NOTE,
        P.TICKETS_ESCALATE,
        P.CUSTOMERS_READ,
        P.CUSTOMERS_WRITE,
        P.CUSTOMERS_MERGE,
        P.CONTACTS_REVEAL,
        P.USERS_READ,
    }
)

# Engineers work hand-offs: their teams' tickets, progress notes, no customer
# contact details and no customer-facing replies unless a custom role grants them.
_ENGINEER = frozenset(
    {
        P.TICKETS_READ,
        P.TICKETS_UPDATE,
        P.TICKETS_NOTE,
        P.TICKETS_ESCALATE,
        P.CUSTOMERS_READ,
        P.USERS_READ,
    }
)

_SUCCESS_MANAGER = _AGENT | {P.CUSTOMERS_OWN}

BUILTIN_ROLES: dict[str, frozenset[Permission]] = {
    "agent": _AGENT,
    "engineer": _ENGINEER,
    "success_manager": _SUCCESS_MANAGER,
    "admin": frozenset(Permission),
}

BUILTIN_ROLE_DESCRIPTIONS: dict[str, str] = {
    "agent": "Front-line agent (客服专员): works the inbox across channels.",
    "engineer": "After-sales engineer (售后工程师): works hand-offs, no contact details.",
    "success_manager": "Customer success manager (客户成功经理): owns high-value customers.",
    "admin": "Administrator: configures the tenant; every permission.",
}


def parse_permissions(names: list[str]) -> frozenset[Permission]:
    """Validate permission names from a request or manifest."""
    from frontdesk.errors import InvalidInput

    out = set()
    for name in names:
        try:
            out.add(Permission(name))
        except ValueError:
            raise InvalidInput(f"unknown permission {name!r}") from None
    return frozenset(out)
