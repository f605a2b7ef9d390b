import json

import pytest
from chalicelib.web.posts import MAX_BODY_BYTES, BadRequest, decode


def test_json_body_is_decoded_and_transport_fields_taken_out() -> None:
    post = decode(
        {"content-type": "application/json; charset=utf-8", "idempotency-key": "k1"},
        json.dumps({"name": "Ann", "website": ""}).encode(),
    )
    assert post.fields == {"name": "Ann"}
    assert post.idempotency_key == "k1"
    assert not post.honeypot_filled
    assert not post.from_browser_form


def test_plain_html_form_post_is_decoded() -> None:
    post = decode(
        {"content-type": "application/x-www-form-urlencoded", "referer": "http://x/contact/?a=1"},
        b"name=Ann+Lee&email=ann%40example.com&website=spam",
    )
    assert post.fields == {"name": "Ann Lee", "email": "ann@example.com"}
    assert post.honeypot_filled
    assert post.from_browser_form
    assert post.referer_path == "/contact/"


def test_the_page_s_language_is_taken_out_of_the_fields_the_form_models_check() -> None:
    # Hindi pages send language=hi; the models refuse unknown fields, so it travels beside them.
    post = decode(
        {"content-type": "application/x-www-form-urlencoded"}, b"name=Ann&language=hi&website="
    )
    assert post.fields == {"name": "Ann"}
    assert post.language == "hi"
    assert decode({"content-type": "application/json"}, b'{"name": "Ann"}').language == "en"


def test_the_answer_s_language_is_the_page_s_else_the_client_s_else_english() -> None:
    json_type = {"content-type": "application/json"}
    assert decode({**json_type, "accept-language": "hi-IN,hi;q=0.9,en;q=0.8"}, b"{}").language == "hi"
    assert decode({**json_type, "accept-language": "fr, en;q=0.5, hi;q=0.7"}, b"{}").language == "hi"
    assert decode({**json_type, "accept-language": "hi;q=0"}, b"{}").language == "en"  # q=0: not wanted
    assert decode({**json_type, "accept-language": "fr-FR, de"}, b"{}").language == "en"
    # The page's field wins over the header; a language without its folder is English, never an error.
    assert decode({**json_type, "accept-language": "en"}, b'{"language": "hi"}').language == "hi"
    assert decode(json_type, b'{"language": "ta"}').language == "en"
    assert decode(json_type, b'{"language": ["hi"]}').language == "en"



def test_a_page_of_the_site_is_answered_in_its_own_language_whatever_its_browser_prefers() -> None:
    # An English page's form says no language: its reader's Hindi browser does not turn the answer Hindi.
    from_a_page = {"content-type": "application/json", "sec-fetch-site": "same-origin",
                   "accept-language": "hi"}
    assert decode(from_a_page, b"{}").language == "en"
    assert decode(from_a_page, b'{"language": "hi"}').language == "hi"


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({"content-type": "text/plain"}, b"hi", 415),
    ({"content-type": "multipart/form-data; boundary=x"}, b"", 415),
    ({"content-type": "application/json"}, b"{not json", 400),
    ({"content-type": "application/json"}, b"[1, 2]", 400),
    ({"content-type": "application/json"}, b"\xff\xfe", 400),
    ({"content-type": "application/json"}, b" " * (MAX_BODY_BYTES + 1), 413),
    ({"content-type": "application/json", "idempotency-key": "k" * 129}, b"{}", 400),
    # An empty key is a mistake, not "no key": answered, never silently ignored.
    ({"content-type": "application/json", "idempotency-key": ""}, b"{}", 400),
    ({"content-type": "application/json"}, b'{"idempotency_key": ""}', 400),
    ({"content-type": "application/json"}, b"[" * 1000 + b"]" * 1000, 400),
    ({"content-type": "application/json"}, b'{"a": 1, "a": 2}', 400),
    ({"content-type": "application/json"}, b'{"a": NaN}', 400),
    ({"content-type": "application/json"}, b'{"a": 1' + b"0" * 100 + b"}", 400),
    ({"content-type": "application/json"}, b'{"a": 1e400}', 400),
    ({"content-type": "application/x-www-form-urlencoded"}, b"a=1&a=2", 400),
    ({"content-type": "application/x-www-form-urlencoded"}, b"&".join([b"k=1"] * 300), 400),
    ({"content-type": "application/json", "x-form-fill-ms": "{}"}, b"{}", 400),
])
def test_unreadable_requests_get_a_clear_status(headers: dict, body: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as caught:
        decode(headers, body)
    assert caught.value.status == status
    assert caught.value.message


@pytest.mark.parametrize(("referer", "back_to"), [
    ("https://evil.example/contact/", "/contact/"),
    ("https://evil.example//evil.example/x", "/"),
    ("javascript:alert(1)", "/"),
    (None, "/"),
])
def test_the_back_link_always_stays_on_this_site(referer: str | None, back_to: str) -> None:
    headers = {"content-type": "application/json"}
    if referer:
        headers["referer"] = referer
    assert decode(headers, b"{}").referer_path == back_to
