"""The intake benchmark's floor: the most naive Chalice handler that stores an enquiry.

One conditional `put_item` of the JSON body as it came, and nothing else: no
validation, no encryption, no keyed hash. It is what the real intake is
measured against, kept here so anyone can rerun the comparison.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import boto3
from chalice import Chalice, Response

app = Chalice(app_name="aftercare-bench-floor")
_client: Any = None


def dynamodb() -> Any:
    global _client
    if _client is None:
        _client = boto3.client(
            "dynamodb", endpoint_url=os.environ.get("AFTERCARE_DYNAMODB_ENDPOINT") or None
        )
    return _client


@app.route("/enquiries", methods=["POST"])
def post_enquiry() -> Response:
    reference = f"ENQ-{secrets.token_hex(4).upper()}"
    dynamodb().put_item(
        TableName=os.environ["FLOOR_TABLE_NAME"],
        Item={
            "pk": {"S": f"SUB#{reference}"},
            "sk": {"S": "SUBMISSION"},
            "body": {"S": app.current_request.raw_body.decode()},
        },
        ConditionExpression="attribute_not_exists(pk)",
    )
    return Response(body={"reference": reference}, status_code=201)
