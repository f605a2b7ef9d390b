"""The local bucket survives a file landing while the folder's last file is removed.

s3rver removes a folder when its last object goes; a put into that folder at the same moment
made the folder, then found it gone, and s3rver stopped. The checker removing a checked upload
while the next upload lands is exactly that. The launcher keeps a marker in each top folder."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
import requests
from aftercare_local import s3
from aftercare_local.processes import free_port

ROUNDS = 40
SIZE = 20_000


def test_an_upload_landing_while_the_folders_last_file_is_removed_is_kept() -> None:
    with s3.running(free_port(), None) as engine:
        client = boto3.client("s3", endpoint_url=engine.endpoint, region_name="eu-west-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        failures: list[str] = []

        def put(key: str) -> None:
            post: dict[str, Any] = client.generate_presigned_post(
                Bucket=engine.bucket, Key=key, Fields={"Content-Type": "image/png"},
                Conditions=[{"Content-Type": "image/png"}, ["content-length-range", SIZE, SIZE]],
                ExpiresIn=60)
            try:
                body = {"file": ("p", os.urandom(SIZE))}
                sent = requests.post(post["url"], data=post["fields"], files=body, timeout=10)
                if sent.status_code != 204:
                    failures.append(f"put {sent.status_code}")
            except requests.RequestException as error:
                failures.append(f"put {type(error).__name__}")

        def remove(key: str) -> None:
            try:
                client.delete_object(Bucket=engine.bucket, Key=key)
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                failures.append(f"delete {type(error).__name__}")

        for round_number in range(ROUNDS):
            put(f"uploads/first-{round_number}")
            racing = [threading.Thread(target=remove, args=(f"uploads/first-{round_number}",)),
                      threading.Thread(target=put, args=(f"uploads/second-{round_number}",))]
            for thread in racing:
                thread.start()
            for thread in racing:
                thread.join()
            remove(f"uploads/second-{round_number}")
        assert failures == []
        listed = client.list_objects_v2(Bucket=engine.bucket, Prefix="uploads/")
        assert listed.get("KeyCount", 0) == 0  # the marker is no object
