"""`make run`'s SMTP listener for replies: each message it takes goes to the inbound handler.

What SES receiving and the inbound function do in AWS, on 127.0.0.1 only: the
listener accepts every message (it never answers one with a bounce: no mail
loops) and hands its bytes, with the envelope's sender and recipients, to the
app's own inbound handler, the very one the inbound function calls.
MailDev goes on showing what we send; this port only takes what comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from aiosmtpd.controller import Controller

from aftercare_local.streams import app_function

LOOPBACK = "127.0.0.1"
# The reply addresses' domain on `make run` (AFTERCARE_REPLY_DOMAIN moves it): mail to it
# reaches nobody but this listener, as `.localhost` names resolve to this machine only.
LOCAL_REPLY_DOMAIN = "reply.aftercare.localhost"
# SES receives messages of at most 40 MB; the listener takes no more.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
log = logging.getLogger(__name__)

# (raw message, envelope sender, envelope recipients) -> anything
Receiver = Callable[[bytes, str, list[str]], object]


def envelope_sender(mail_from: str | None) -> str:
    """The envelope's sender; empty for a bounce's null sender (`MAIL FROM:<>`)."""
    return "" if not mail_from or mail_from.strip() == "<>" else mail_from.strip()


class Handing:
    """aiosmtpd's handler: the message to the receiver, off the event loop (it waits on DynamoDB)."""

    def __init__(self, receive: Receiver):
        self._receive = receive

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self._receive, bytes(raw), envelope_sender(envelope.mail_from), list(envelope.rcpt_tos))
        except Exception as error:  # noqa: BLE001 - a temporary failure: the sender tries again
            log.warning("inbound mail not taken: %s", type(error).__name__)
            return "451 4.3.0 try again later"
        return "250 OK"


def app_receiver() -> Receiver:
    """The app's inbound handler, loaded as the inbound function loads it."""
    app_function("inbound")  # imports the app
    import app

    def receive(raw: bytes, sender: str, recipients: list[str]) -> object:
        return app.get_inbound().receive(raw, envelope_sender=sender, envelope_recipients=recipients)

    return receive


@contextlib.contextmanager
def listening(port: int, receive: Receiver) -> Iterator[int]:
    """The listener on 127.0.0.1:`port` while the block runs; answers its port."""
    controller = Controller(Handing(receive), hostname=LOOPBACK, port=port,
                            data_size_limit=MAX_MESSAGE_BYTES)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
