"""Imports every domain's models so the metadata is complete (Alembic, table lists)."""

from __future__ import annotations

from frontdesk.attachments.models import StoredAttachment
from frontdesk.audit.models import AuditEntry
from frontdesk.auth.models import ApiToken, RefreshToken, Role, Team, TeamMember, User
from frontdesk.canned.models import CannedReply
from frontdesk.channels.models import (
    ChannelCursor,
    ChannelEndpoint,
    ChannelInstance,
    Conversation,
    Delivery,
    InboundEvent,
    InboundRejection,
    SenderWindow,
)
from frontdesk.channels.transcripts import TranscriptRow
from frontdesk.crypto.models import TenantKey
from frontdesk.db import Base
from frontdesk.handoffs.models import Handoff
from frontdesk.identity.models import ContactPoint, Customer, CustomerMerge
from frontdesk.routing.models import BusinessHours, RoutingRule, SlaPolicy, TicketSla
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    Category,
    Message,
    MessageRef,
    Ticket,
    TicketCounter,
    TicketEvent,
)
from frontdesk.timers.models import Timer
from frontdesk.web.models import WebSession

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "BusinessHours",
    "CannedReply",
    "Category",
    "ChannelCursor",
    "ChannelEndpoint",
    "ChannelInstance",
    "ContactPoint",
    "Conversation",
    "Customer",
    "CustomerMerge",
    "Delivery",
    "Handoff",
    "InboundEvent",
    "InboundRejection",
    "Message",
    "MessageRef",
    "RefreshToken",
    "Role",
    "RoutingRule",
    "SenderWindow",
    "SlaPolicy",
    "StoredAttachment",
    "Team",
    "TeamMember",
    "Tenant",
    "TenantKey",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketSla",
    "Timer",
    "TranscriptRow",
    "User",
    "WebSession",
    "metadata",
]
