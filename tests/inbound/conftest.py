"""Replies on moto and on the local stack: the attachments tests' bucket fixtures, shared."""

from tests.attachments.conftest import attachment_stack, moto_bucket  # noqa: F401 - fixtures, shared

