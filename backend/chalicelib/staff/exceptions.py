"""What the staff desk refuses or cannot do just now, in plain words a door can show as they are."""


class StaffError(Exception):
    """A staff operation could not be done; the message says why, without personal data."""


class SubjectRequestError(StaffError):
    """A request about a person or a record that cannot be carried out as asked."""


class NoSuchSubmission(SubjectRequestError):
    """No live submission has that reference."""


class CaseChanged(StaffError):
    """The case changed after the page or command read it; nothing was written."""


class ServiceUnavailable(StaffError):
    """DynamoDB, KMS or S3 could not be reached or refused the request; nothing was changed."""

    def __init__(self, service: str, code: str):
        super().__init__(f"{service} could not be used just now ({code}); nothing was changed. Try again")
        self.service = service
        self.code = code
