"""The key access of the track page: a role of its own that may open customer messages and nothing else.

In AWS the public function assumes the case-message role for this one job;
the data key's policy lets that role decrypt only ciphertexts whose context
says `case_message`, so even with the role's credentials no submission or
internal note can be opened. Locally the one local key stands in for both.
"""

from __future__ import annotations

import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from chalicelib.crypto.keys import SubmissionCipher, kms_key_provider
from chalicelib.settings import ConfigurationError, Settings

SESSION_NAME = "aftercare-track"


def case_message_cipher(settings: Settings, role_arn: str | None) -> SubmissionCipher:
    if settings.uses_local_keys:
        return settings.cipher()
    if not role_arn or not settings.kms_key_id:
        raise ConfigurationError("AFTERCARE_CASE_MESSAGE_ROLE_ARN is not set")
    return SubmissionCipher(kms_key_provider(settings.kms_key_id, _assumed(role_arn, settings.region)))


def _assumed(role_arn: str, region: str | None) -> botocore.session.Session:
    """A botocore session whose credentials are the role's, renewed before they expire."""
    source = botocore.session.get_session()
    if region:
        source.set_config_variable("region", region)
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=source.create_client, source_credentials=source.get_credentials(),
        role_arn=role_arn, extra_args={"RoleSessionName": SESSION_NAME},
    )
    session = botocore.session.get_session()
    if region:
        session.set_config_variable("region", region)
    session._credentials = DeferredRefreshableCredentials(  # noqa: SLF001 - botocore's documented seam
        method="assume-role", refresh_using=fetcher.fetch_credentials,
    )
    return session
