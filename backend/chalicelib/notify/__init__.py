"""Email from the table's stream:
the notifier, the mailer and its templates, case, file and follow-up mail, consents, unsubscribing.
"""

__all__ = [
    "attachment_notices",
    "case_emails",
    "consents",
    "emails",
    "follow_up_mail",
    "mailer",
    "notifier",
    "unsubscribe",
]
