"""Counting the KMS calls a piece of code makes, whichever botocore session made its client."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.client import BaseClient


@contextlib.contextmanager
def counting_kms_calls() -> Iterator[Counter[str]]:
    """Counts KMS operations by name while the block runs.

    The Encryption SDK makes its KMS clients from a botocore session of its
    own, so an event hook on boto3's default session would miss them; every
    client, whatever its session, goes through `BaseClient._make_api_call`.
    """
    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(client: Any, operation_name: str, api_params: Any) -> Any:
        if client.meta.service_model.service_name == "kms":
            counts[operation_name] += 1
        return original(client, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
