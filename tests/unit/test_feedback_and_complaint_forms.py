from typing import Any

import pytest
from chalicelib.forms import Complaint, Feedback, InvalidSubmission, PageFeedback, validate

FEEDBACK = {"overall": 4}
COMPLAINT = {
    "category": "delivery",
    "description": "It came two days late.",
    "desired_outcome": "Refund the delivery charge.",
    "name": "Carl Diaz",
    "email": "carl.diaz@example.com",
}
ASPECTS = ("product_quality", "staff_attitude", "speed_of_service", "keeping_promises")


def errors_of(model: Any, payload: Any) -> dict[str, str]:
    with pytest.raises(InvalidSubmission) as caught:
        validate(model, payload)
    return {error.field: error.message for error in caught.value.errors}


@pytest.mark.parametrize("field", ("overall", *ASPECTS))
@pytest.mark.parametrize("rating", [1, 5, "1", "5"])
def test_ratings_from_1_to_5_are_accepted(field: str, rating: Any) -> None:
    # A plain HTML form sends text; JSON sends numbers.
    assert getattr(validate(Feedback, {**FEEDBACK, field: rating}, form=isinstance(rating, str)), field) \
        == int(rating)


@pytest.mark.parametrize("sent", ["3", "", "on"])
def test_json_values_are_taken_only_as_the_contract_types_them(sent: str) -> None:
    assert "overall" in errors_of(Feedback, {**FEEDBACK, "overall": sent})
    assert "helpful" in errors_of(PageFeedback, {"page": "/", "helpful": sent})
    assert "helpful" in errors_of(PageFeedback, {"page": "/", "helpful": 1})


@pytest.mark.parametrize("field", ("overall", *ASPECTS))
@pytest.mark.parametrize("rating", [0, 6, -1, "6", 4.5, True, "four", 10**20])
def test_ratings_out_of_range_are_rejected(field: str, rating: Any) -> None:
    errors = errors_of(Feedback, {**FEEDBACK, field: rating})
    assert set(errors) == {field}
    assert "1 to 5" in errors[field]


def test_only_the_overall_rating_is_required() -> None:
    assert errors_of(Feedback, {}) == {"overall": "Answer “Overall, how satisfied are you?”."}
    feedback = validate(Feedback, {**FEEDBACK, **dict.fromkeys(ASPECTS, ""), "comment": "", "page": ""},
                        form=True)
    assert all(getattr(feedback, aspect) is None for aspect in ASPECTS)
    assert feedback.comment is None and feedback.page is None


def test_the_comment_is_personal_and_the_ratings_are_not() -> None:
    assert Feedback.personal_fields() == ("comment",)
    assert {"overall", *ASPECTS, "case_reference", "page", "follow_up_token"} == set(Feedback.open_fields())


@pytest.mark.parametrize("page", ["https://evil.example/", "javascript:alert(1)", "/a b", "x" * 201])
def test_feedback_pages_are_paths_on_this_site(page: str) -> None:
    assert "page" in errors_of(Feedback, {**FEEDBACK, "page": page})


def test_comment_length_is_bounded() -> None:
    assert validate(Feedback, {**FEEDBACK, "comment": "x" * 2000})
    assert "2000" in errors_of(Feedback, {**FEEDBACK, "comment": "x" * 2001})["comment"]


def test_the_rating_scale_is_labelled_for_the_form() -> None:
    schema = Feedback.model_json_schema()["properties"]["overall"]
    assert (schema["minimum"], schema["maximum"]) == (1, 5)
    assert schema["x-widget"] == "radio" and schema["x-labels"]["5"] == "Very satisfied"


@pytest.mark.parametrize(("sent", "helpful"), [(True, True), (False, False), ("yes", True),
                                                ("no", False), ("true", True), ("false", False)])
def test_a_page_vote_is_yes_or_no(sent: Any, helpful: bool) -> None:
    vote = validate(PageFeedback, {"page": "/guides/aura-book-14/", "helpful": sent},
                    form=isinstance(sent, str))
    assert vote.helpful is helpful


def test_a_page_vote_needs_the_page_and_an_answer() -> None:
    errors = errors_of(PageFeedback, {"helpful": "maybe"})
    assert set(errors) == {"page", "helpful"}
    assert errors["helpful"] == "“Was this page helpful?” must be yes or no."
    assert "1000" in errors_of(PageFeedback, {"page": "/", "helpful": True, "comment": "x" * 1001})["comment"]


@pytest.mark.parametrize("category", ["product-fault", "poor-service", "staff-attitude",
                                      "promise-not-kept", "delivery", "other"])
def test_each_complaint_category_is_accepted(category: str) -> None:
    assert validate(Complaint, {**COMPLAINT, "category": category}).category == category


def test_a_complaint_names_every_missing_field_and_refuses_unknown_categories() -> None:
    errors = errors_of(Complaint, {"category": "rudeness"})
    assert set(errors) == {"category", "description", "desired_outcome", "name", "email"}
    assert "Staff attitude" in errors["category"]


def test_a_complaint_s_own_words_and_contact_are_personal() -> None:
    assert set(Complaint.personal_fields()) == {"description", "desired_outcome", "name", "email", "phone"}
    assert validate(Complaint, {**COMPLAINT, "order_reference": ""}, form=True).order_reference is None
