"""The local stream reader waits as long as the notifier asks before trying a batch again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aftercare_local import streams
from chalicelib.notify.notifier import ClaimHeld


def reader_with(handler: streams.Handler, tmp_path: Path, pauses: list[float]) -> streams.StreamReader:
    return streams.StreamReader(dynamodb=None, streams=None, table_name="t", handler=handler,
                                checkpoint_file=tmp_path / "checkpoint.json",
                                dead_letter_file=tmp_path / "dead-letters.jsonl", sleep=pauses.append)


RECORD = {"eventID": "1", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "Keys": {}}}


def test_a_held_claim_is_retried_once_its_lease_has_run_out_not_sooner(tmp_path: Path) -> None:
    calls: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise ClaimHeld("ENQ-1", "confirmation", retry_after=7.5)

    pauses: list[float] = []
    reader_with(handler, tmp_path, pauses)._deliver([RECORD])
    assert (len(calls), pauses) == (2, [7.5])
    assert not (tmp_path / "dead-letters.jsonl").exists()


def test_any_other_failure_backs_off_as_before_and_a_wait_is_bounded(tmp_path: Path) -> None:
    def handler(event: dict[str, Any], context: Any) -> None:
        raise ClaimHeld("ENQ-1", "confirmation", retry_after=10_000)

    pauses: list[float] = []
    reader_with(handler, tmp_path, pauses)._deliver([RECORD])
    assert pauses == [streams.MAX_WAIT_SECONDS] * (streams.ATTEMPTS - 1)
    assert (tmp_path / "dead-letters.jsonl").read_text().count("\n") == 1

    def failing(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("down")

    pauses.clear()
    reader_with(failing, tmp_path, pauses)._deliver([RECORD])
    assert pauses == [streams.BACKOFF_SECONDS * 2 ** n for n in range(streams.ATTEMPTS - 1)]
