"""A real SMTP server for tests: aiosmtpd's ``Controller`` on 127.0.0.1, port 0, in a daemon thread.

STYLE.md §6: tests talk to a real peer over real sockets instead of patching smtplib. The server records
every command line it receives (``commands``: "EHLO …", "MAIL FROM:<…> SMTPUTF8", "RCPT TO:<…>",
"AUTH PLAIN" without the credentials, "STARTTLS", "DATA") and every accepted transaction
(``envelopes``: mail_from, rcpt_tos, options and the raw content bytes).

Options: SMTPUTF8 on or off; STARTTLS or implicit TLS with a certificate from
``make_test_certificate`` (self-signed for 127.0.0.1, made with the ``openssl`` command because the
``cryptography`` package is not installed); AUTH PLAIN/LOGIN against one test user, optionally required;
canned rejections per recipient ("550 5.1.1 …") or for DATA ("451 4.3.0 …"); delays per command to
provoke client timeouts.

Use as a context manager; ``django_settings()`` gives the ``override_settings`` keywords::

    with FakeSmtpServer(smtputf8=False) as server, override_settings(**server.django_settings()):
        send_email(mail)
    assert server.envelopes == []
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TlsCertificate:
    """A self-signed certificate (PEM) valid for IP 127.0.0.1 and DNS localhost, and its private key.

    Clients trust it through ``SSL_CERT_FILE=cert_path`` (read by ``ssl.create_default_context``)."""

    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def make_test_certificate(directory: Path) -> TlsCertificate:
    """Write a one-day self-signed P-256 certificate into ``directory`` using the ``openssl`` command.

    Raises RuntimeError when no ``openssl`` is on PATH (install it, or add the ``cryptography`` package
    and generate the certificate in-process)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("make_test_certificate needs the openssl command on PATH")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return TlsCertificate(cert, key)


@dataclass(frozen=True)
class RecordedEnvelope:
    """One accepted transaction: addresses as sent (UTF-8 for SMTPUTF8), options upper-cased by aiosmtpd,
    ``content`` the raw DATA bytes (dot-unstuffed, CRLF kept), the AUTH login and whether TLS was on."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    rcpt_options: tuple[str, ...]
    content: bytes
    authenticated_as: str | None
    tls: bool


@dataclass(frozen=True)
class AuthAttempt:
    """One AUTH exchange: mechanism, login and whether it succeeded (the password is not kept)."""

    mechanism: str
    login: str
    success: bool


@dataclass
class _Recorder:
    """The aiosmtpd handler: canned answers, plus what the server saw (appended in the server thread)."""

    user: tuple[str, str] | None
    reject_rcpt: Mapping[str, str]
    reject_data: str | None
    delay_s: Mapping[str, float]
    commands: list[str] = field(default_factory=list)
    envelopes: list[RecordedEnvelope] = field(default_factory=list)
    auth_attempts: list[AuthAttempt] = field(default_factory=list)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        success = self.user is not None and (login, password) == self.user
        self.auth_attempts.append(AuthAttempt(mechanism, login, success))
        return AuthResult(success=success, handled=False, auth_data=login if success else None)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay_s.get("MAIL", 0))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay_s.get("RCPT", 0))
        if address in self.reject_rcpt:
            return self.reject_rcpt[address]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject_data is not None:
            return self.reject_data
        transport = server.transport
        self.envelopes.append(
            RecordedEnvelope(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                mail_options=tuple(envelope.mail_options),
                rcpt_options=tuple(envelope.rcpt_options),
                content=envelope.original_content or b"",
                authenticated_as=session.auth_data if session.authenticated else None,
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            )
        )
        # Received before the delay: a client that times out now leaves a message the server holds.
        await asyncio.sleep(self.delay_s.get("DATA", 0))
        return "250 2.0.0 OK: queued"


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP session, logging each command line before handling it."""

    def _record(self, line: str) -> None:
        recorder = self.event_handler
        assert isinstance(recorder, _Recorder)
        recorder.commands.append(line)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._record(f"EHLO {hostname}")
        await super().smtp_EHLO(hostname)

    async def smtp_STARTTLS(self, arg: str) -> None:
        self._record("STARTTLS")
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        self._record(f"AUTH {arg.split()[0] if arg else ''}".strip())  # never the credentials
        await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        self._record(f"MAIL {arg}")
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        self._record(f"RCPT {arg}")
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        self._record("DATA")
        await super().smtp_DATA(arg)


class _Controller(Controller):
    """aiosmtpd 1.4's Controller connects to ``self.port`` to start up, so port 0 needs the real port
    written back after binding."""

    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Any:
        return self._bind()

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        return server


class FakeSmtpServer:
    """An SMTP server on 127.0.0.1 and a free port; see the module docstring.

    ``starttls`` and ``implicit_tls`` take a ``TlsCertificate``; ``user`` is the (login, password) that
    AUTH PLAIN/LOGIN accepts (offered only under TLS unless there is no TLS at all); ``require_auth``
    answers 530 to MAIL before AUTH. ``reject_rcpt`` maps an address (as the client sends it) to a reply
    line; ``reject_data`` is the reply to the end of DATA; ``delay_s`` delays "MAIL", "RCPT" or the
    reply to "DATA" (the content is recorded before the delay).
    """

    def __init__(
        self,
        *,
        smtputf8: bool = True,
        starttls: TlsCertificate | None = None,
        implicit_tls: TlsCertificate | None = None,
        user: tuple[str, str] | None = None,
        require_auth: bool = False,
        reject_rcpt: Mapping[str, str] | None = None,
        reject_data: str | None = None,
        delay_s: Mapping[str, float] | None = None,
    ) -> None:
        if starttls and implicit_tls:
            raise ValueError("choose STARTTLS or implicit TLS, not both")
        self._recorder = _Recorder(user, dict(reject_rcpt or {}), reject_data, dict(delay_s or {}))
        self._uses_starttls, self._uses_implicit_tls = starttls is not None, implicit_tls is not None
        self._controller = _Controller(
            self._recorder,
            hostname=HOST,
            port=0,
            ssl_context=implicit_tls.server_context() if implicit_tls else None,
            server_hostname="fake-smtp.test",
            enable_SMTPUTF8=smtputf8,
            tls_context=starttls.server_context() if starttls else None,
            require_starttls=starttls is not None,
            authenticator=self._recorder.authenticate,
            auth_required=require_auth,
            # aiosmtpd counts only STARTTLS as TLS; under implicit TLS the whole session is encrypted.
            auth_require_tls=starttls is not None,
        )

    host = HOST

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def commands(self) -> list[str]:
        return self._recorder.commands

    @property
    def envelopes(self) -> list[RecordedEnvelope]:
        return self._recorder.envelopes

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        return self._recorder.auth_attempts

    def start(self) -> FakeSmtpServer:
        self._controller.start()
        self._recorder.commands.clear()  # the Controller's own start-up probe is not a client
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> FakeSmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def django_settings(self, *, user: str = "", password: str = "", timeout_s: float = 5) -> dict[str, Any]:
        """Keyword arguments for ``override_settings`` that point our backend at this server."""
        return {
            "EMAIL_BACKEND": "alphasms.messaging.email.SmtpUtf8EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": self._uses_starttls,
            "EMAIL_USE_SSL": self._uses_implicit_tls,
            "EMAIL_HOST_USER": user,
            "EMAIL_HOST_PASSWORD": password,
            "EMAIL_TIMEOUT": timeout_s,
        }
