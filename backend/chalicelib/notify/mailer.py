"""Sending email: Amazon SES v2 in AWS, SMTP to this machine's MailDev locally.

The one module that talks to SES. Both transports take a finished Mail and
either send it, or raise MailRejected (this message will never go: a bad
address, an unverified sender) or MailUnavailable (try again later).
"""

from __future__ import annotations

import email.policy
import json
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.notify.emails import Letterhead, Mail
from chalicelib.rules.retailer import retailer

# Local runs send only here: the SMTP host is not a setting.
LOOPBACK = "127.0.0.1"
SMTP_TIMEOUT_SECONDS = 10
# SES answers these when the message itself can never be sent; anything else may pass.
SES_PERMANENT = {
    "MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException",
    "NotFoundException", "AccountSuspendedException",
}
SES_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)


class MailRejected(Exception):
    """The message can never be sent as it is; retrying will not help."""


class MailUnavailable(Exception):
    """The mail service could not take the message now; a retry may."""


class Transport(Protocol):
    def send(self, mail: Mail) -> str: ...


# Headers are never folded or encoded below RFC 5322's hard limit: a folded or
# encoded List-Unsubscribe URL is one that mail programs cannot follow.
MIME_POLICY = email.policy.SMTP.clone(max_line_length=998)


def mime(mail: Mail) -> EmailMessage:
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    if "Message-ID" not in mail.headers:  # an email about a case names its own (chalicelib.inbound)
        message["Message-ID"] = make_msgid(domain=mail.sender.rsplit("@", 1)[-1].rstrip(">"))
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


class SesTransport:
    def __init__(self, configuration_set: str | None, region: str | None = None):
        self._configuration_set = configuration_set
        self._region = region
        self._client: Any = None

    def send(self, mail: Mail) -> str:
        if self._client is None:
            import boto3

            self._client = boto3.client("sesv2", region_name=self._region, config=SES_CONFIG)
        request: dict[str, Any] = {
            "FromEmailAddress": mail.sender,
            "Destination": {"ToAddresses": [mail.to]},
            "Content": {"Raw": {"Data": mime(mail).as_bytes()}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            return str(self._client.send_email(**request)["MessageId"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            if code in SES_PERMANENT:
                raise MailRejected(code) from None
            raise MailUnavailable(code) from None
        except BotoCoreError as error:
            raise MailUnavailable(type(error).__name__) from None


class SmtpTransport:
    """Plain SMTP to a server on this machine (MailDev); never to another host."""

    def __init__(self, port: int):
        self._port = port

    def send(self, mail: Mail) -> str:
        message = mime(mail)
        try:
            with smtplib.SMTP(LOOPBACK, self._port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
            raise MailRejected(type(error).__name__) from None
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                raise MailRejected(f"SMTP {error.smtp_code}") from None
            raise MailUnavailable(f"SMTP {error.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailUnavailable(type(error).__name__) from None
        return str(message["Message-ID"])


@dataclass(frozen=True)
class MailSettings:
    letterhead: Letterhead
    smtp_port: int | None = None
    configuration_set: str | None = None
    dead_letter_queue_url: str | None = None
    region: str | None = None
    # How long a claim on an email holds (notify.CLAIM_LEASE when unset); shorter in tests.
    claim_lease_seconds: float | None = None
    # The domain of the cases' reply addresses (chalicelib.inbound); None: emails carry none.
    reply_domain: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MailSettings:
        port = environ.get("AFTERCARE_SMTP_PORT")
        shop = retailer()
        return cls(
            letterhead=Letterhead(
                # The deploy's SenderAddress in AWS; locally the retailer's own help address.
                sender_address=environ.get("AFTERCARE_MAIL_FROM") or shop.contact.email,
                sender_name=shop.name,
                site_url=(environ.get("AFTERCARE_SITE_URL") or "http://127.0.0.1:8000").rstrip("/"),
                phone=shop.contact.phone,
                help_email=shop.contact.email,
            ),
            smtp_port=int(port) if port else None,
            configuration_set=environ.get("AFTERCARE_SES_CONFIGURATION_SET") or None,
            dead_letter_queue_url=environ.get("AFTERCARE_DEAD_LETTER_QUEUE_URL") or None,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
            claim_lease_seconds=float(lease) if (lease := environ.get("AFTERCARE_CLAIM_LEASE_SECONDS"))
            else None,
            reply_domain=environ.get("AFTERCARE_REPLY_DOMAIN") or None,
        )

    def dead_letter_sink(self) -> Callable[[dict[str, str]], None]:
        """Reports of messages that can never be sent: to the dead-letter queue, whose alarm staff see."""
        queue_url = self.dead_letter_queue_url
        if not queue_url:
            return lambda report: None
        clients: list[Any] = []

        def report(details: dict[str, str]) -> None:
            if not clients:
                import boto3

                clients.append(boto3.client("sqs", region_name=self.region, config=SES_CONFIG))
            clients[0].send_message(QueueUrl=queue_url, MessageBody=json.dumps(details))

        return report

    def transport(self) -> Transport:
        if self.smtp_port:
            return SmtpTransport(self.smtp_port)
        return SesTransport(self.configuration_set, self.region)
