"""The one module that talks to S3: the attachments bucket's presigned POSTs, reads, writes and deletes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CLIENT_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=2,
    read_timeout=10,
    # The bucket's own regional host: the one origin the site's CSP lets the browser post to.
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
    signature_version="s3v4",
)
# Local engines answer on one host name only.
LOCAL_CONFIG = CLIENT_CONFIG.merge(Config(s3={"addressing_style": "path"}))


class BucketUnavailable(Exception):
    """S3 could not take or give the object now; the caller may retry later."""


class NoSuchObject(Exception):
    """The object is not (or no longer) in the bucket."""


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass
class AttachmentBucket:
    bucket_name: str
    client_factory: Callable[[], Any]

    @cached_property
    def client(self) -> Any:
        """Made on first use, never at import (moto, the test client and cold starts need that)."""
        return self.client_factory()

    def presigned_post(
        self, key: str, *, content_type: str, min_bytes: int, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        """A POST form the browser sends the file with; S3 refuses any other key, type or size."""
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.bucket_name,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", min_bytes, max_bytes],
                ],
                ExpiresIn=expires_in,
            )
        except (ClientError, BotoCoreError) as error:
            raise BucketUnavailable(type(error).__name__) from None
        return PresignedPost(post["url"], dict(post["fields"]))

    def read_link(self, key: str, *, seconds: int, file_name: str, content_type: str,
                  download: bool = False) -> str:
        """A short-lived URL that opens one object in the browser (or saves it, `download`), under its
        own name and type."""
        disposition = f"{'attachment' if download else 'inline'}; filename*=UTF-8''{quote(file_name)}"
        try:
            return str(self.client.generate_presigned_url(
                "get_object", ExpiresIn=seconds,
                Params={"Bucket": self.bucket_name, "Key": key, "ResponseContentType": content_type,
                        "ResponseContentDisposition": disposition},
            ))
        except (BotoCoreError, ClientError) as error:
            raise BucketUnavailable(type(error).__name__) from None

    def read(self, key: str, *, limit: int) -> tuple[bytes, str]:
        """The object's bytes (at most `limit` + 1, so an oversize object shows) and its type."""
        try:
            answer = self.client.get_object(Bucket=self.bucket_name, Key=key, Range=f"bytes=0-{limit}")
            return answer["Body"].read(), answer.get("ContentType", "")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "InvalidRange"):
                raise NoSuchObject(key) from None
            raise BucketUnavailable(type(error).__name__) from None
        except BotoCoreError as error:
            raise BucketUnavailable(type(error).__name__) from None

    def write(self, key: str, body: bytes | IO[bytes], *, content_type: str) -> None:
        """One object; a file is sent as it is read (an export's file is never held in memory)."""
        try:
            self.client.put_object(Bucket=self.bucket_name, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as error:
            raise BucketUnavailable(type(error).__name__) from None

    def delete(self, keys: list[str]) -> None:
        """Delete these objects; a key already gone is no error."""
        try:
            for start in range(0, len(keys), 1000):
                chunk = keys[start:start + 1000]
                self.client.delete_objects(
                    Bucket=self.bucket_name,
                    Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True},
                )
        except (ClientError, BotoCoreError) as error:
            raise BucketUnavailable(type(error).__name__) from None

    def listing(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, size) of each object under `prefix`, a page at a time."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket_name, Prefix=prefix
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    yield entry["Key"], int(entry["Size"])
        except (ClientError, BotoCoreError) as error:
            raise BucketUnavailable(type(error).__name__) from None


def s3_client(endpoint_url: str | None = None, region: str | None = None, session: Any = None) -> Any:
    """An S3 client; `session` (a boto3 Session) carries a staff profile's or local credentials."""
    return (session or boto3).client(
        "s3", endpoint_url=endpoint_url, region_name=region,
        config=LOCAL_CONFIG if endpoint_url else CLIENT_CONFIG,
    )
