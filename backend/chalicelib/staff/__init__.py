"""The staff desk: every staff operation once, audited under the identity the door passes in.

desk (the operations the doors call), context (who is acting, the table and keys), exceptions
(StaffError: plain words a door shows as they are); the rooms behind the desk: a person's data
(subjects, subject_copy), cases, exports (export, pipeline, records, sheets), attachments, the
outbox and the audit trail.
"""

__all__ = [
    "attachments",
    "audit",
    "cases",
    "context",
    "desk",
    "exceptions",
    "export",
    "outbox",
    "pipeline",
    "records",
    "sheets",
    "subject_copy",
    "subjects",
]
