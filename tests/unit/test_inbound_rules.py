"""The rules of replies without AWS: the signed address, the thread, automatic mail, the new text."""

from __future__ import annotations

from email.message import EmailMessage

from chalicelib.crypto.keys import LocalSubjectHasher
from chalicelib.inbound.address import reference_of, reply_address, thread_headers
from chalicelib.inbound.handler import automatic, parse
from chalicelib.inbound.text import body_text, new_text

from tests.inbound.mails import reply

HASHER = LocalSubjectHasher(b"k" * 32)
OTHER_KEY = LocalSubjectHasher(b"o" * 32)
DOMAIN = "reply.aftercare.example"
REFERENCE = "CMP-7K3M-Q9XD"


def test_the_reply_address_names_its_case_and_only_its_mac_opens_it() -> None:
    address = reply_address(HASHER, REFERENCE, DOMAIN)
    assert address.startswith(f"reply+{REFERENCE}.") and address.endswith(f"@{DOMAIN}")
    assert len(address.split("@")[0]) <= 64
    assert reference_of(HASHER, address, DOMAIN) == REFERENCE
    assert reference_of(HASHER, address.upper(), DOMAIN.upper()) == REFERENCE  # mail may change case
    assert reference_of(HASHER, f"Ann <{address}>".split("<")[1], DOMAIN) == REFERENCE
    assert reference_of(OTHER_KEY, address, DOMAIN) is None  # a MAC under another key
    assert reference_of(HASHER, address.replace("Q9XD", "Q9XE"), DOMAIN) is None  # another case
    mac = address.split(".")[1].split("@")[0]
    flipped = ("1" if mac[0] != "1" else "2") + mac[1:]
    assert reference_of(HASHER, address.replace(mac, flipped), DOMAIN) is None
    assert reference_of(HASHER, address.replace(DOMAIN, "other.example"), DOMAIN) is None


def test_emails_of_a_case_thread_under_its_confirmation() -> None:
    first = thread_headers(HASHER, REFERENCE, "confirmation", DOMAIN)
    later = thread_headers(HASHER, REFERENCE, "case-update-000002", DOMAIN)
    assert first["Reply-To"] == later["Reply-To"] == reply_address(HASHER, REFERENCE, DOMAIN)
    assert "In-Reply-To" not in first
    assert later["In-Reply-To"] == later["References"] == first["Message-ID"]
    assert later["Message-ID"] != first["Message-ID"]
    assert thread_headers(HASHER, REFERENCE, "case-update-000002", DOMAIN) == later  # a resend keeps it


def test_automatic_mail_is_recognised_and_a_person_s_is_not() -> None:
    person = parse(reply("a@b.example", "c@d.example", "Hello"))
    assert automatic(person, "c@d.example") is None
    assert automatic(parse(reply("a@b.example", "c@d.example", "x", headers={"Auto-Submitted": "no"})),
                     None) is None
    for headers in ({"Auto-Submitted": "auto-replied"}, {"Auto-Submitted": "auto-generated"},
                    {"Precedence": "junk"}, {"Precedence": "list"}, {"Return-Path": "<>"}):
        assert automatic(parse(reply("a@b.example", "c@d.example", "x", headers=headers)), None)
    assert automatic(person, "")  # a bounce: empty envelope sender
    report = EmailMessage()
    report.make_mixed()
    report.set_type("multipart/report")
    assert automatic(report, None)


def test_only_the_new_text_is_kept_without_quoted_history_or_signature() -> None:
    body = body_text(parse(reply("a@b.example", "c@d.example", "The hinge broke again.\nPlease call.")))
    kept = new_text(body)
    assert kept == "The hinge broke again.\nPlease call."


def test_an_html_only_reply_is_read_as_text() -> None:
    message = EmailMessage()
    message.set_content("<p>It works now &amp; thanks</p><blockquote>old</blockquote>", subtype="html")
    assert "It works now & thanks" in body_text(message)
    assert "<p>" not in body_text(message)


def test_a_reply_with_nothing_new_keeps_nothing() -> None:
    assert new_text("   \n") == ""
