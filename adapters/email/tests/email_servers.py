"""Real servers on 127.0.0.1 for the tests: an SMTP server (aiosmtpd), an IMAP server (pymap).

Nothing here mocks smtplib or imaplib: the adapter's own clients talk to
servers over sockets, with their timeouts, TLS and error paths.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import imaplib
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from frontdesk_email.imap import mailbox_name  # IMAP quoting and modified UTF-7


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


# --- SMTP ------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated_as: str | None = None


@dataclass
class _Behaviour:
    #: The reply to DATA: "250 OK", "451 ...", "550 ...".
    reply: str = "250 2.0.0 OK"
    #: Reply to RCPT with this instead of accepting (e.g. "550 5.1.1 no such user").
    rcpt_reply: str | None = None
    #: Seconds to sit on DATA before answering.
    stall: float = 0.0


@dataclass
class _Handler:
    behaviour: _Behaviour
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.behaviour.rcpt_reply is not None:
            with self.lock:
                self.attempts += 1
            return self.behaviour.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.attempts += 1
        if self.behaviour.stall:
            await asyncio.sleep(self.behaviour.stall)
        reply = self.behaviour.reply
        if reply.startswith("250"):
            login = session.auth_data
            with self.lock:
                self.received.append(
                    Received(
                        mail_from=envelope.mail_from or "",
                        rcpt_tos=list(envelope.rcpt_tos),
                        data=envelope.original_content or b"",
                        authenticated_as=login if isinstance(login, str) else None,
                    )
                )
        return reply


class SmtpServer:
    """An SMTP server on 127.0.0.1 whose answers a test scripts.

    Also the contract kit's ``DeliveryProvider``: ``accept()``, ``fail()``
    (451, a temporary failure), ``stall(seconds)`` and ``received``.
    """

    def __init__(self, **smtp_kwargs: Any) -> None:
        self.behaviour = _Behaviour()
        self.handler = _Handler(self.behaviour)
        self.port = free_port()
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **smtp_kwargs
        )
        self._controller.start()

    # DeliveryProvider
    def accept(self) -> None:
        self.behaviour.reply, self.behaviour.stall, self.behaviour.rcpt_reply = "250 OK", 0, None

    def fail(self, reply: str = "451 4.3.0 Try again later") -> None:
        self.behaviour.reply = reply

    def stall(self, seconds: float) -> None:
        self.behaviour.stall = seconds

    @property
    def received(self) -> int:
        return self.handler.attempts

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def close(self) -> None:
        self._controller.stop()


def authenticator(expected_user: str, expected_password: str) -> Any:
    def check(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (expected_user, expected_password)
        return AuthResult(success=ok, handled=False, auth_data=expected_user if ok else None)

    return check


# --- TLS certificates ----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert_pem: str
    key_pem: str
    cert_file: Path
    key_file: Path


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frontdesk-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_text(cert_pem)
    key_file.write_text(key_pem)
    return Certificate(cert_pem, key_pem, cert_file, key_file)


# --- IMAP (pymap, a real IMAP4rev1 server, in its own process) -------------------------

IMAP_USER = "support"
IMAP_PASSWORD = "imap-password-1"


class ImapServer:
    """pymap's in-memory backend on 127.0.0.1, in a child process."""

    def __init__(self) -> None:
        executable = shutil.which("pymap", path=str(Path(sys.executable).parent))
        if executable is None:
            raise RuntimeError("pymap is not installed (pip install 'frontdesk-email[test]')")
        self.port = free_port()
        command = [executable, "--host", "127.0.0.1", "--port", str(self.port), "--no-tls"]
        command += ["dict", "--demo-user", IMAP_USER, "--demo-password", IMAP_PASSWORD]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.close()
            raise

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(IMAP_USER, IMAP_PASSWORD)
        return client

    def append(self, mailbox: str, raw: bytes, when: dt.datetime | None = None) -> None:
        client = self.client()
        try:
            moment = imaplib.Time2Internaldate(when.timestamp()) if when else None
            status, data = client.append(mailbox_name(mailbox), None, moment, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def recreate(self, mailbox: str) -> None:
        """Delete and create the mailbox again: the server gives it a new UIDVALIDITY."""
        client = self.client()
        try:
            client.delete(mailbox_name(mailbox))
            client.create(mailbox_name(mailbox))
        finally:
            client.logout()

    def create(self, mailbox: str) -> None:
        client = self.client()
        try:
            status, data = client.create(mailbox_name(mailbox))
            assert status == "OK", data
        finally:
            client.logout()

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
