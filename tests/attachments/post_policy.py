"""S3's rules for a browser POST upload, as its documentation states them.

Neither moto nor s3rver enforces a POST policy's conditions, so the tests judge
each presigned POST with these rules instead: the signature must cover the
policy, the policy must not have expired, every form field must be allowed by
a condition, and the file's size must fall in the content-length-range.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

# Form fields S3 does not ask a condition for.
UNCONDITIONED = {"policy", "x-amz-signature", "file"}


def signing_key(secret: str, day: str, region: str, service: str = "s3") -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def refusal(
    fields: dict[str, str], file_size: int, *, bucket: str, now: datetime, secret: str
) -> str | None:
    """Why S3 would refuse this POST, or None if it would store the file."""
    lowered = {name.lower(): value for name, value in fields.items()}
    _, day, region, service, _ = lowered["x-amz-credential"].split("/")
    expected = hmac.new(
        signing_key(secret, day, region, service), lowered["policy"].encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, lowered["x-amz-signature"]):
        return "signature does not match the policy"
    policy: dict[str, Any] = json.loads(base64.b64decode(lowered["policy"]))
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) <= now:
        return "policy expired"
    values = {**lowered, "bucket": bucket}
    covered = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            [(name, wanted)] = condition.items()
            operator, name = "eq", name.lower()
        elif condition[0] == "content-length-range":
            if not condition[1] <= file_size <= condition[2]:
                return "file size outside content-length-range"
            continue
        else:
            operator, name, wanted = condition[0], condition[1].lstrip("$").lower(), condition[2]
        covered.add(name)
        given = values.get(name, "")
        if operator == "eq" and given != wanted:
            return f"{name} does not match the policy"
        if operator == "starts-with" and not given.startswith(wanted):
            return f"{name} does not match the policy"
    uncovered = set(lowered) - covered - UNCONDITIONED
    uncovered = {name for name in uncovered if not name.startswith("x-ignore-")}
    if uncovered:
        return f"fields without a condition: {sorted(uncovered)}"
    return None
