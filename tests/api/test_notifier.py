"""The notifier on moto (SES v2, DynamoDB, KMS): each form's stream records become exactly one
confirmation and the right staff alert; repeats send nothing twice; failures retry or go aside."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from chalicelib.forms import FORMS
from chalicelib.notify import notifier as notify
from chalicelib.notify.mailer import MailRejected, MailUnavailable
from chalicelib.rules.retailer import retailer
from chalicelib.store import items
from chalicelib.store.table import to_dynamodb
from moto.core import DEFAULT_ACCOUNT_ID

from tests.api.posting import post_form, post_json
from tests.conftest import TEST_REGION, MotoAccount
from tests.samples import payload_for

SENDER_DOMAIN = "aftercare.example"
SITE = "https://help.example.com"
CUSTOMER = "zed.q@example.net"


@pytest.fixture
def mailbox(moto_account: MotoAccount, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SES v2 on moto with our sending domain verified; answers the messages sent so far."""
    boto3.client("sesv2", region_name=TEST_REGION).create_email_identity(EmailIdentity=SENDER_DOMAIN)
    monkeypatch.setenv("AFTERCARE_MAIL_FROM", f"help@{SENDER_DOMAIN}")
    monkeypatch.setenv("AFTERCARE_SITE_URL", SITE)
    monkeypatch.delenv("AFTERCARE_SMTP_PORT", raising=False)
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][TEST_REGION]

    def messages() -> list[Any]:
        parsed = []
        for sent_message in backend.sent_messages:
            message = email.message_from_string(sent_message.raw_data, policy=email.policy.default)
            message.raw_data = sent_message.raw_data
            parsed.append(message)
        return parsed

    return messages


@pytest.fixture
def notifier_app(chalice_app: Any, mailbox: Any) -> Any:
    chalice_app.get_notifier.cache_clear()
    yield chalice_app
    chalice_app.get_notifier.cache_clear()


def stream_records(account: MotoAccount, event: str = "INSERT", prefix: str = "") -> list[dict[str, Any]]:
    """What the table's stream (new images) hands the function for the items stored so far."""
    return [{"eventName": event, "eventSource": "aws:dynamodb", "dynamodb": {"NewImage": to_dynamodb(item)}}
            for item in account.raw_items() if str(item["pk"]).startswith(prefix)]


def run(app: Any, records: list[dict[str, Any]]) -> None:
    app.notifier({"Records": records}, None)


def sent(account: MotoAccount) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["reference"], i["sk"]): i for i in account.raw_items() if i["pk"].startswith("SENT#")}


def post_one(api: Any, kind: str, **changes: Any) -> str:
    form = FORMS[kind]
    response = post_json(api, form.path, payload_for(form, date.today(), **changes))
    assert response.status_code == 201, response.body
    return str(response.json_body["reference"])


KINDS_WITH_EMAIL = ["enquiry", "warranty_registration", "complaint", "return_request", "service_visit"]


def test_each_form_gets_one_confirmation_and_the_right_staff_alert(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    references = {}
    for kind, form in FORMS.items():
        response = post_json(api, form.path, payload_for(form, date.today(), email=CUSTOMER))
        assert response.status_code == 201, response.body
        references[kind] = response.json_body["reference"]
    run(notifier_app, stream_records(moto_account))
    messages = mailbox()
    to_customer = [m for m in messages if m["To"] == CUSTOMER]
    assert sorted(m["Subject"] for m in to_customer) == sorted(
        f"We have your {FORMS[k].in_words} ({references[k]})" for k in KINDS_WITH_EMAIL
    )
    alerts = {m["To"]: m for m in messages if m["To"] != CUSTOMER}
    assert set(alerts) == {"complaints@aftercare.example", "returns@aftercare.example",
                           "helpdesk@aftercare.example", "visits@aftercare.example"}
    assert references["complaint"] in alerts["complaints@aftercare.example"]["Subject"]
    for alert in alerts.values():
        body = alert.get_body(("plain",)).get_content()
        assert CUSTOMER not in body and "Ann Lee" not in body
    for message in to_customer:
        assert message["From"] == f"{retailer().name} <help@{SENDER_DOMAIN}>"
        assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    assert {record["status"] for record in sent(moto_account).values()} == {"sent"}
    assert len(sent(moto_account)) == len(messages) == len(KINDS_WITH_EMAIL) + len(alerts) == 9


def test_a_repeated_batch_sends_nothing_twice(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "complaint")
    records = stream_records(moto_account)
    run(notifier_app, records + records)  # a record twice in one batch
    run(notifier_app, records)  # the batch again, as after a crash or a retry
    assert len(mailbox()) == 2


class Crash(BaseException):
    """The function stopped dead (timeout, out of memory) between claiming and sending."""


class CrashingTransport:
    def send(self, mail: Any) -> str:
        raise Crash()


def crash_on_the_confirmation(notifier_app: Any, moto_account: MotoAccount) -> Any:
    """Run the batch with a notifier that stops between claiming the confirmation and sending it."""
    notifier = notifier_app.get_notifier()
    original = notifier.transport
    notifier.transport = CrashingTransport()
    with pytest.raises(Crash):
        run(notifier_app, stream_records(moto_account))
    notifier.transport = original
    return notifier


def later(notifier: Any, seconds: float) -> None:
    """Move the notifier's clock on by `seconds` from the real now."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    notifier.clock = lambda: moment


def test_an_opt_in_becomes_its_consent_record_from_the_stream_unless_the_submission_was_erased(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    kept = post_one(api, "enquiry", marketing_consent=True)
    erased = post_one(api, "complaint", email="other@example.org", marketing_consent=True)
    records = stream_records(moto_account, prefix=items.SUBMISSION_PREFIX)
    assert not [i for i in moto_account.raw_items() if items.is_consent(i)]  # the request wrote one item
    partition, sort = items.submission_key(erased)
    moto_account.dynamodb().delete_item(  # staff erased it before the stream arrived
        TableName=moto_account.table_name, Key={"pk": {"S": partition}, "sk": {"S": sort}})

    run(notifier_app, records)
    run(notifier_app, records)  # a repeat

    (consent,) = [i for i in moto_account.raw_items() if items.is_consent(i)]
    (submission,) = moto_account.submissions("enquiry")
    assert consent["fields"]["source_reference"] == kept
    assert consent["reference"] == submission[items.OPT_INS_ATTRIBUTE][0]["reference"]
    assert consent["subject_hash"] == submission["subject_hash"]


def test_a_retry_within_the_claim_s_lease_raises_and_sends_nothing(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "enquiry", email=CUSTOMER)
    notifier = crash_on_the_confirmation(notifier_app, moto_account)
    later(notifier, notify.CLAIM_LEASE.total_seconds() - 5)  # the holder may still be sending
    with pytest.raises(notify.ClaimHeld) as held:
        run(notifier_app, stream_records(moto_account, prefix="SUB#"))
    assert 0 < held.value.retry_after <= 5
    assert mailbox() == []
    statuses = {message: (r["status"], r["attempts"]) for (_, message), r in sent(moto_account).items()}
    assert statuses == {"confirmation": ("sending", 1)}


def test_a_retry_after_the_lease_takes_the_claim_over_and_sends_exactly_once(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "enquiry", email=CUSTOMER)
    notifier = crash_on_the_confirmation(notifier_app, moto_account)
    later(notifier, notify.CLAIM_LEASE.total_seconds() + 1)
    run(notifier_app, stream_records(moto_account, prefix="SUB#"))
    run(notifier_app, stream_records(moto_account, prefix="SUB#"))  # and the batch once more
    assert sorted(m["To"] for m in mailbox()) == sorted([CUSTOMER, "helpdesk@aftercare.example"])
    records = {message: (r["status"], r["attempts"]) for (_, message), r in sent(moto_account).items()}
    assert records == {"confirmation": ("sent", 2), "staff-alert": ("sent", 1)}


def test_of_two_workers_taking_over_one_stale_claim_only_one_sends(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    reference = post_one(api, "enquiry", email=CUSTOMER)
    notifier = crash_on_the_confirmation(notifier_app, moto_account)
    later(notifier, notify.CLAIM_LEASE.total_seconds() + 1)
    [submission] = [i for i in moto_account.raw_items() if i["pk"] == f"SUB#{reference}"]
    table = moto_account.table()
    stale = table.get(*items.sent_key(reference, "confirmation"), now_epoch=0)
    real_get = table.get

    class SlowReader:
        """The first worker read the stale claim; the second takes it over before the first writes."""

        def get(self, *key: Any, **options: Any) -> Any:
            notifier.table = table
            assert notifier.deliver(submission, "confirmation") == "sent"
            return stale

    notifier.table = SlowReader()
    notifier.table.create_all = table.create_all  # type: ignore[attr-defined]
    assert notifier.deliver(submission, "confirmation") == "skipped"
    notifier.table = table
    assert [m["To"] for m in mailbox()] == [CUSTOMER]
    assert real_get(*items.sent_key(reference, "confirmation"), now_epoch=0)["attempts"] == 2


def sweep(notifier: notify.Notifier) -> int:
    """The daily sweep marks what is due; the stream then brings each change to the notifier."""
    marked = notify.ask_again_what_is_due(notifier.table, notifier.clock(), notifier.claim_lease)
    changes = [notifier.table.get(*items.sent_key(r["reference"], r["sk"]), now_epoch=0) for r in marked]
    notifier.handle([{"eventName": "MODIFY", "dynamodb": {"NewImage": to_dynamodb(c)}} for c in changes])
    return len(marked)


def test_the_sweep_sends_stale_claims_and_due_failures_and_leaves_the_rest(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    crashed = post_one(api, "enquiry", email=CUSTOMER)
    notifier = crash_on_the_confirmation(notifier_app, moto_account)
    failing = post_one(api, "complaint")
    notifier.sleep = lambda seconds: None

    class Down:
        def send(self, mail: Any) -> str:
            raise MailUnavailable("Throttling")

    original, notifier.transport = notifier.transport, Down()
    with pytest.raises(MailUnavailable):
        notifier.deliver(notifier.table.get(*items.submission_key(failing), now_epoch=0), "staff-alert")
    notifier.transport = original
    assert sweep(notifier) == 0  # within the lease, before the backoff: nothing is due
    later(notifier, notify.CLAIM_LEASE.total_seconds() + 1)
    assert sweep(notifier) == 2
    assert sweep(notifier) == 0
    assert sorted((m["To"], crashed in m["Subject"], failing in m["Subject"]) for m in mailbox()) == [
        ("complaints@aftercare.example", False, True), (CUSTOMER, True, False)]
    assert {r["status"] for r in sent(moto_account).values()} == {"sent"}


def test_a_message_that_keeps_failing_is_given_up_after_max_attempts_and_reported(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    reference = post_one(api, "complaint")
    notifier = notifier_app.get_notifier()
    letters: list[dict[str, str]] = []
    notifier.dead_letters, notifier.sleep = letters.append, lambda seconds: None

    class Down:
        def send(self, mail: Any) -> str:
            raise MailUnavailable("Throttling")

    notifier.transport = Down()
    submission = notifier.table.get(*items.submission_key(reference), now_epoch=0)
    waits = []
    for attempt in range(1, notify.MAX_ATTEMPTS + 1):
        with pytest.raises(MailUnavailable):
            notifier.deliver(submission, "staff-alert")
        record = notifier.table.get(*items.sent_key(reference, "staff-alert"), now_epoch=0)
        assert (record["status"], record["attempts"]) == ("failed", attempt)
        if record["retry_at"] != items.NO_RETRY:
            waits.append(items.parsed_timestamp(record["retry_at"])
                         - items.parsed_timestamp(record["updated_at"]))
    assert waits == [notify.RETRY_BACKOFF * 2 ** n for n in range(notify.MAX_ATTEMPTS - 1)]
    assert record["retry_at"] == items.NO_RETRY
    assert [letter["message"] for letter in letters] == ["staff-alert"]
    assert notifier.deliver(submission, "staff-alert") == "skipped"  # the stream's next retry
    later(notifier, 10 * 24 * 3600)
    assert sweep(notifier) == 0
    assert mailbox() == []


def test_a_failing_send_is_retried_with_the_batch_and_then_sent_once(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "return_request")
    notifier = notifier_app.get_notifier()
    original, pauses = notifier.transport, []
    notifier.sleep = pauses.append

    class Down:
        def send(self, mail: Any) -> str:
            raise MailUnavailable("Throttling")

    notifier.transport = Down()
    with pytest.raises(MailUnavailable):
        run(notifier_app, stream_records(moto_account))
    assert pauses == [0.5, 1.0]  # backoff between attempts in one invocation
    assert [r["status"] for r in sent(moto_account).values()] == ["failed"]
    assert mailbox() == []
    notifier.transport = original
    run(notifier_app, stream_records(moto_account, prefix="SUB#"))
    run(notifier_app, stream_records(moto_account, prefix="SUB#"))
    assert len(mailbox()) == 2
    records = sent(moto_account).values()
    assert {r["status"] for r in records} == {"sent"}
    assert sorted(r["attempts"] for r in records) == [1, 2]


def test_an_address_ses_rejects_goes_to_the_dead_letters_and_the_stream_moves_on(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AFTERCARE_MAIL_FROM", "help@unverified.example")  # SES: MessageRejected
    notifier_app.get_notifier.cache_clear()
    letters: list[dict[str, str]] = []
    notifier_app.get_notifier().dead_letters = letters.append
    post_one(api, "enquiry")
    run(notifier_app, stream_records(moto_account))  # raises nothing: the batch is done
    assert mailbox() == []
    assert {(letter["message"], letter["reason"]) for letter in letters} == {
        ("confirmation", "MessageRejected"), ("staff-alert", "MessageRejected")}
    assert all(CUSTOMER not in json.dumps(letter) for letter in letters)
    assert {r["status"] for r in sent(moto_account).values()} == {"failed"}


def test_the_notifier_ignores_its_own_records_and_changes_it_did_not_ask_for(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "enquiry")
    run(notifier_app, stream_records(moto_account, event="MODIFY", prefix="SUB#"))
    run(notifier_app, [{"eventName": "REMOVE", "dynamodb": {}}])
    assert mailbox() == []
    run(notifier_app, stream_records(moto_account))
    run(notifier_app, stream_records(moto_account, prefix="SENT#"))
    assert len(mailbox()) == 2


def test_resend_asked_for_by_staff_sends_that_one_message_again(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    reference = post_one(api, "enquiry", email=CUSTOMER)
    run(notifier_app, stream_records(moto_account))
    table = moto_account.table()
    table.transition(*items.sent_key(reference, "confirmation"), status_from="sent",
                     changes={"status": "resend"}, guard="sent")
    run(notifier_app, stream_records(moto_account, event="MODIFY", prefix="SENT#"))
    run(notifier_app, stream_records(moto_account, event="MODIFY", prefix="SENT#"))
    assert [m["To"] for m in mailbox()].count(CUSTOMER) == 2


# -- Unsubscribe, end to end on moto ----------------------------------------------------------


def unsubscribe_link(message: Any) -> str:
    header = message["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">")
    return header[1:-1]


def consents(account: MotoAccount) -> list[dict[str, Any]]:
    return [i for i in account.raw_items() if i.get("kind") == "consent"]


def test_opted_in_mail_carries_one_click_unsubscribe_that_withdraws_consent(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "warranty_registration", email=CUSTOMER, marketing_consent=True)
    run(notifier_app, stream_records(moto_account))
    [confirmation] = [m for m in mailbox() if m["To"] == CUSTOMER]
    link = unsubscribe_link(confirmation)
    # As sent: on one line, neither folded nor encoded, so mail programs can follow it.
    assert f"List-Unsubscribe: <{link}>\r\n" in confirmation.raw_data.replace("\r\n", "\n").replace(
        "\n", "\r\n")
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.startswith(f"{SITE}/api/unsubscribe?token=") and CUSTOMER not in link
    assert link in confirmation.get_body(("plain",)).get_content()
    path = urlsplit(link)
    query = f"{path.path.removeprefix('/api')}?{path.query}"
    page = api.http.get(query)
    assert page.status_code == 200
    assert b'<button type="submit" class="md-button md-button--primary">Unsubscribe</button>' in page.body
    assert [c["status"] for c in consents(moto_account)] == ["opted-in"]  # opening the link changes nothing
    clicked = api.http.post(query, headers={"Content-Type": "application/x-www-form-urlencoded"},
                            body="List-Unsubscribe=One-Click")
    assert clicked.status_code == 200 and b"You are unsubscribed" in clicked.body
    run(notifier_app, stream_records(moto_account, prefix="UNSUB#"))
    [consent] = consents(moto_account)
    assert consent["status"] == "withdrawn" and consent["fields"]["withdrawn_at"]
    [audit] = [i for i in moto_account.raw_items() if i.get("kind") == "audit"]
    assert (audit["actor"], audit["action"], audit["item_count"]) == (
        "customer:unsubscribe-link", "consent.withdraw", 1)
    assert audit["about_subject"] == consent["subject_hash"]


def test_the_page_s_button_posts_the_token_as_a_form_field(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    form = FORMS["enquiry"]
    body = payload_for(form, date.today(), marketing_consent=True)
    assert post_form(api, form.path, body).status_code == 303
    run(notifier_app, stream_records(moto_account))
    [confirmation] = [m for m in mailbox() if m["To"] != "helpdesk@aftercare.example"]
    token = parse_qs(urlsplit(unsubscribe_link(confirmation)).query)["token"][0]
    clicked = api.http.post("/unsubscribe", headers={"Content-Type": "application/x-www-form-urlencoded"},
                            body=f"token={token}")
    assert clicked.status_code == 200
    assert len([i for i in moto_account.raw_items() if i["pk"].startswith("UNSUB#")]) == 1


def test_customers_who_did_not_opt_in_get_no_unsubscribe_link(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "complaint", email=CUSTOMER)
    run(notifier_app, stream_records(moto_account))
    [confirmation] = [m for m in mailbox() if m["To"] == CUSTOMER]
    assert confirmation["List-Unsubscribe"] is None
    assert "unsubscribe" not in confirmation.get_body(("plain",)).get_content().lower()


@pytest.mark.parametrize("token", ["", "nonsense", "ENQ-7K3M-Q9XD.9999999999." + "0" * 64,
                                   "ENQ-7K3M-Q9XD.9999999999.%3Cscript%3E"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_malformed_or_forged_token_gets_a_clear_page_and_changes_nothing(
    api: Any, notifier_app: Any, moto_account: MotoAccount, token: str, method: str
) -> None:
    response = (api.http.get if method == "GET" else api.http.post)(
        f"/unsubscribe?token={token}", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert b"not one of ours" in response.body and b"Nothing has changed" in response.body
    content = response.body.split(b"<h1", 1)[1].split(b"</article>", 1)[0]  # the page's own words
    assert b"<script" not in content
    assert moto_account.raw_items() == []


def test_an_expired_token_says_so_and_changes_nothing(
    api: Any, notifier_app: Any, moto_account: MotoAccount
) -> None:
    from chalicelib.notify import unsubscribe

    hasher = notifier_app.get_reception().intake.hasher
    token = unsubscribe.sign(hasher, "ENQ-7K3M-Q9XD", datetime.now(UTC) - timedelta(seconds=1))
    response = api.http.post(f"/unsubscribe?token={token}")
    assert response.status_code == 400 and b"too old" in response.body
    assert moto_account.raw_items() == []


def test_mail_rejected_and_unavailable_are_distinct() -> None:
    assert not issubclass(MailRejected, MailUnavailable) and not issubclass(MailUnavailable, MailRejected)


def test_a_kind_on_the_daily_digest_gets_one_mail_a_day_listing_its_submissions(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    from chalicelib.notify.emails import NotificationPolicy, StaffAlert

    notifier = notifier_app.get_notifier()
    policy = notifier.policy
    notifier.policy = NotificationPolicy(policy.cases, policy.next_steps, {
        **policy.staff_alerts, "complaint": StaffAlert("complaints@aftercare.example", daily_digest=True)},
        policy.unsubscribe_link_days)
    complaints = {post_one(api, "complaint", email=CUSTOMER, name="Zed Quarrington") for _ in range(2)}
    post_one(api, "return_request")
    run(notifier_app, stream_records(moto_account))
    assert "complaints@aftercare.example" not in [m["To"] for m in mailbox()]
    today = notifier.clock().date()
    assert notifier.send_digests(today) == {"complaint": "sent"}
    assert notifier.send_digests(today) == {"complaint": "skipped"}  # once a day, whatever happens
    assert notifier.send_digests(today - timedelta(days=1)) == {"complaint": "nothing new"}
    [digest] = [m for m in mailbox() if m["To"] == "complaints@aftercare.example"]
    body = digest.get_body(("plain",)).get_content()
    assert digest["Subject"] == f"Complaints received on {today.isoformat()}: 2"
    assert all(reference in body for reference in complaints)
    assert CUSTOMER not in body and "Quarrington" not in body
    record = sent(moto_account)[(notify.digest_reference("complaint", today), notify.DIGEST)]
    assert record["status"] == "sent"
