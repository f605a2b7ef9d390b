"""Replies on moto: the table, keys and attachments bucket of the attachments tests."""

from tests.attachments.conftest import moto_bucket  # noqa: F401 - a fixture, shared

