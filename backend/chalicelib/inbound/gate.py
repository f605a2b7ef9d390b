"""The receipt rule's gate: SES asks it first, and mail that failed SPF, DKIM or DMARC, or that
carries a virus, goes no further (not stored, never answered: no bounce to a forged sender).

Pure: SES's event in, its disposition out (the Lambda action's synchronous answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHECKS = ("spfVerdict", "dkimVerdict", "dmarcVerdict", "virusVerdict")
STOP = {"disposition": "STOP_RULE_SET"}
GO_ON = {"disposition": "CONTINUE"}


def failed_checks(receipt: Mapping[str, Any]) -> list[str]:
    """The checks the message failed (a virus found is the virus check failing)."""
    return [check for check in CHECKS if str((receipt.get(check) or {}).get("status", "")).upper() == "FAIL"]


def disposition(event: Mapping[str, Any]) -> dict[str, str]:
    """STOP_RULE_SET for each message that failed a check, else CONTINUE (to the S3 action)."""
    for record in event.get("Records") or []:
        receipt = ((record.get("ses") or {}).get("receipt")) or {}
        if failed_checks(receipt):
            return STOP
    return GO_ON
