"""HTTP API: a customer's personal-data requests (export, erasure), for those allowed."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from frontdesk.api.deps import Actor, Cipher, Db, Rt, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.privacy import service as privacy


class PrivacyController(Controller):
    path = "/api/v1/customers/{customer_id:uuid}"
    tags = ["customers"]

    # POST, not GET: an export writes an audit record.
    @post("/export", opt=needs(P.CUSTOMERS_PRIVACY), status_code=HTTP_200_OK)
    async def export(
        self, customer_id: FromPath[uuid.UUID], db: Db, runtime: Rt, cipher: Cipher,
        principal: Actor,
    ) -> Response[bytes]:  # fmt: skip
        """Everything held about the customer, from every channel, as a zip of JSON
        and attachment files."""
        archive = await privacy.export_customer(db, runtime, cipher, principal, customer_id)
        return Response(
            archive,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.zip"'},
        )

    @post("/erase", opt=needs(P.CUSTOMERS_PRIVACY), status_code=HTTP_200_OK)
    async def erase(
        self, customer_id: FromPath[uuid.UUID], db: Db, cipher: Cipher, principal: Actor
    ) -> privacy.Erased:
        """Erase the customer's personal data; their tickets stay, anonymised."""
        # The attachment files go once the request's transaction has committed.
        return await privacy.erase_customer(db, cipher, principal, customer_id)


CONTROLLERS = [PrivacyController]
