"""Replies: a customer's email back about their case comes home to it.

Every email about a case carries a reply address that names the case and is
signed (`address`), and threading headers so the customer's mail program keeps
the conversation together. A reply that comes back (SES receiving in AWS, the
local SMTP listener on `make run`) goes to `handler`, in AWS once SES's checks
passed (`gate`): automatic mail is dropped
unanswered, an unsigned or forged address is refused, a reply from another
address is held for staff; otherwise only its new text (`text`) is sealed on the
case's history with its files checked like uploads, a case waiting for the
customer moves back to work, and the handler is told without personal data.
"""

__all__ = [
    "address",
    "gate",
    "handler",
    "text",
]
