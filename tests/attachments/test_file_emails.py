"""The customer is told of the files they sent: the confirmation lists each one and says which
were refused and why; a file refused after it went out gets one short email of its own."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from chalicelib.forms import FORMS
from chalicelib.notify import attachment_notices
from chalicelib.notify.attachment_notices import SentFile, refusal_words, told_apart
from chalicelib.store import items

from tests.api.posting import post_json
from tests.api.test_notifier import CUSTOMER, run, sent, stream_records
from tests.api.test_notifier import mailbox as mailbox  # a fixture
from tests.api.test_notifier import notifier_app as notifier_app  # a fixture
from tests.attachments import files
from tests.attachments.test_checker import land, trigger
from tests.samples import payload_for


def send_return(api: Any, upload_ids: list[str]) -> str:
    form = FORMS["return_request"]
    body = {**payload_for(form, date.today(), email=CUSTOMER), "attachments": upload_ids}
    response = post_json(api, form.path, body)
    assert response.status_code == 201, response.json_body
    return str(response.json_body["reference"])


def photo_checked_and(api: Any, second: bytes) -> tuple[str, str]:
    """A photo, landed and checked, and a second file said to be a JPEG, landed, not yet checked."""
    photo = land(api, "image/jpeg", files.jpeg_with_gps(), form="return_request")
    other = land(api, "image/jpeg", second, form="return_request")
    trigger(api, photo)
    return photo, other


def text_of(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def to_customer(mailbox: Any) -> list[Any]:
    return [m for m in mailbox() if m["To"] == CUSTOMER]


def test_the_confirmation_lists_each_file_and_says_which_was_refused_and_why(
    uploads_api: Any, notifier_app: Any, moto_account: Any, moto_bucket: Any, mailbox: Any
) -> None:
    photo, program = photo_checked_and(uploads_api, files.WINDOWS_EXECUTABLE)
    trigger(uploads_api, program)
    reference = send_return(uploads_api, [photo, program])

    run(notifier_app, stream_records(moto_account))

    [confirmation] = to_customer(mailbox)
    text = " ".join(text_of(confirmation).split())
    assert "File 1, a JPEG photo (" in text and "): received." in text
    size = len(files.WINDOWS_EXECUTABLE)
    assert (f"File 2, a JPEG photo ({size} bytes): refused, because its contents are not what its "
            "name says") in text
    assert f"quote {reference}" in text
    html = confirmation.get_body(("html",)).get_content()
    assert "<strong>refused</strong>" in html
    assert photo not in text and program not in text  # upload ids are ours, not the customer's


def test_a_file_refused_after_the_confirmation_gets_one_email_of_its_own(
    uploads_api: Any, notifier_app: Any, moto_account: Any, moto_bucket: Any, mailbox: Any
) -> None:
    photo, late = photo_checked_and(uploads_api, files.LINUX_EXECUTABLE)
    reference = send_return(uploads_api, [photo, late])
    run(notifier_app, stream_records(moto_account))
    [confirmation] = to_customer(mailbox)
    assert "File 2, a JPEG photo: being checked." in " ".join(text_of(confirmation).split())

    trigger(uploads_api, late)  # the checker refuses it now, after the confirmation went out
    changes = stream_records(moto_account, event="MODIFY", prefix=items.UPLOAD_PREFIX)
    run(notifier_app, changes)
    run(notifier_app, changes)  # the stream delivers again: still one email

    confirmation, refusal = to_customer(mailbox)
    assert refusal["Subject"] == f"We could not accept a file you sent ({reference})"
    body = " ".join(text_of(refusal).split())
    assert (f"File 2, a JPEG photo ({len(files.LINUX_EXECUTABLE)} bytes), because its contents are "
            "not what its name says") in body
    assert "File 1" not in body
    assert sent(moto_account)[(reference, attachment_notices.refusal_message(late))]["status"] == "sent"


def test_a_file_refused_before_the_confirmation_is_told_there_only(
    uploads_api: Any, notifier_app: Any, moto_account: Any, moto_bucket: Any, mailbox: Any
) -> None:
    program = land(uploads_api, "application/pdf", files.WINDOWS_EXECUTABLE, form="return_request")
    trigger(uploads_api, program)
    send_return(uploads_api, [program])
    # The intake marking the refused upload used is a change to a refused, attached upload too.
    run(notifier_app, stream_records(moto_account, event="MODIFY", prefix=items.UPLOAD_PREFIX))
    run(notifier_app, stream_records(moto_account))
    run(notifier_app, stream_records(moto_account, event="MODIFY", prefix=items.UPLOAD_PREFIX))

    [confirmation] = to_customer(mailbox)
    assert f"File 1, a PDF document ({len(files.WINDOWS_EXECUTABLE)} bytes): refused" in " ".join(
        text_of(confirmation).split())


@pytest.mark.parametrize(("reason", "words"), [
    ("not a JPEG, PNG, HEIC/HEIF or PDF file", "its contents are not what its name says"),
    ("declared image/jpeg but is image/png", "its contents are not what its name says"),
    ("truncated JPEG (no end-of-image marker)", "damaged, or did not arrive complete"),
    ("damaged PNG (checksum)", "damaged, or did not arrive complete"),
    ("larger than the limit", "larger than 10 MB"),
    ("something new", "we could not check it"),
])
def test_each_refusal_is_said_in_plain_words(reason: str, words: str) -> None:
    said = refusal_words(reason)
    assert words in said
    assert "/" not in said and "marker" not in said and "checksum" not in said


def test_only_a_refusal_after_the_confirmation_was_claimed_is_told_apart() -> None:
    refused = {"checked_at": "2026-11-23T10:00:01.000000Z"}
    assert told_apart(refused, {"created_at": "2026-11-23T10:00:00.000000Z"})
    assert not told_apart(refused, {"created_at": "2026-11-23T10:00:02.000000Z"})
    assert not told_apart(refused, None)


def test_a_file_whose_record_is_gone_is_not_said_to_be_received() -> None:
    [gone] = attachment_notices.sent_files(["abc"], {})
    assert gone == SentFile(1, "a file", None, "refused", "we could not check it")
