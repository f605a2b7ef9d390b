import itertools

from chalicelib.store.references import ALPHABET, is_reference, new_reference


def test_reference_is_prefixed_and_grouped() -> None:
    reference = new_reference("ENQ")
    assert is_reference(reference)
    assert reference.startswith("ENQ-")
    assert len(reference) == len("ENQ-7K3M-Q9XD")


def test_reference_uses_the_injected_chooser() -> None:
    characters = itertools.cycle("7K3MQ9XD")
    assert new_reference("WR", lambda _: next(characters)) == "WR-7K3M-Q9XD"


def test_alphabet_has_no_characters_people_misread() -> None:
    assert not set("01OILU") & set(ALPHABET)


def test_references_do_not_repeat_in_practice() -> None:
    assert len({new_reference("ENQ") for _ in range(5000)}) == 5000


def test_is_reference_refuses_anything_else() -> None:
    for text in ["", "ENQ-7K3M-Q9X", "ENQ-7K3M-Q9X0", "enq-7k3m-q9xd", "ENQ-7K3M-Q9XD/..", "<b>"]:
        assert not is_reference(text)
