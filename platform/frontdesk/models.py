"""Imports every domain's models so the metadata is complete (Alembic, table lists)."""

from __future__ import annotations

from frontdesk.attachments.models import StoredAttachment
from frontdesk.audit.models import AuditEntry
from frontdesk.auth.models import (
    ApiToken,
    Invitation,
    RefreshToken,
    Role,
    Team,
    TeamMember,
    User,
)
from frontdesk.auth.sso.models import SsoConfig, SsoLogin
from frontdesk.calls.models import Call
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
from frontdesk.followups.models import FollowupSettings, Survey, SurveyToken
from frontdesk.handoffs.models import Handoff
from frontdesk.identity.models import ContactPoint, Customer, CustomerMerge
from frontdesk.incidents.models import Incident, IncidentLink, IncidentUpdate
from frontdesk.notifications.models import Notification
from frontdesk.quotas.models import TenantLimits
from frontdesk.reports.models import ReportRollup, ReportRollupState
from frontdesk.routing.models import (
    AgentProfile,
    BusinessHours,
    RoutingRule,
    SlaPolicy,
    TeamAssignment,
    TicketSla,
)
from frontdesk.tasks.models import TicketTask
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
    "AgentProfile",
    "ApiToken",
    "AuditEntry",
    "BusinessHours",
    "Call",
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
    "FollowupSettings",
    "Handoff",
    "InboundEvent",
    "InboundRejection",
    "Incident",
    "IncidentLink",
    "IncidentUpdate",
    "Invitation",
    "Message",
    "MessageRef",
    "Notification",
    "RefreshToken",
    "ReportRollup",
    "ReportRollupState",
    "Role",
    "RoutingRule",
    "SenderWindow",
    "SlaPolicy",
    "SsoConfig",
    "SsoLogin",
    "StoredAttachment",
    "Survey",
    "SurveyToken",
    "Team",
    "TeamAssignment",
    "TeamMember",
    "Tenant",
    "TenantKey",
    "TenantLimits",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketSla",
    "TicketTask",
    "Timer",
    "TranscriptRow",
    "User",
    "WebSession",
    "metadata",
]
