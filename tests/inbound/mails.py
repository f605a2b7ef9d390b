"""Replies as mail programs write them, for the inbound tests and the benchmark."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

QUOTED = ("On Mon, 7 Dec 2026 at 10:00, Aftercare <help@aftercare.example> wrote:\n"
          "> We have received your complaint.\n> Your reference is in the subject.\n")
SIGNATURE = "Best regards,\nPriya Raman\nSent from my phone\n"


def reply(to: str, sender: str, text: str, *, photo: bytes | None = None,
          headers: dict[str, str] | None = None, message_id: str | None = None) -> bytes:
    """A customer's reply: new text, their signature, our email quoted below, and maybe a photo."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Re: We have received your complaint"
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(f"{text}\n\n{SIGNATURE}\n{QUOTED}")
    if photo is not None:
        message.add_attachment(photo, maintype="image", subtype="jpeg", filename="door.jpg")
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF lines, as on the wire
