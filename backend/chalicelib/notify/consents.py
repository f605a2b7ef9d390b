"""Consent records, written from the table's change stream.

The intake seals each ticked consent box onto the submission's own item
(`items.OPT_INS_ATTRIBUTE`), so the request makes one conditional write and no
transaction. When the stream hands the notifier the new submission, each
opt-in becomes its own consent record, the proof that outlives the submission.

The stream delivers a record at least once; the consent record's key comes
from the opt-in (its reference was chosen by the intake), so a repeat finds
it written and writes nothing. A submission erased before its stream record
arrives leaves no consent behind: each write is conditional on the
submission still being there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.store import items
from chalicelib.store.table import ItemCheck, NewItem, SubmissionTable, WriteConflict

log = logging.getLogger(__name__)

SUBMISSION_GUARD = "submission"


def record(
    table: SubmissionTable, submission: dict[str, Any], expires_at: Callable[[str, datetime], datetime]
) -> int:
    """Write the consent records of a stored submission's opt-ins; answers how many were new."""
    written = 0
    for consent in items.consent_items(submission, expires_at):
        try:
            table.create_all([
                ItemCheck(*items.submission_key(submission["reference"]), guard=SUBMISSION_GUARD),
                NewItem(consent, consent["kind"]),
            ])
        except WriteConflict as conflict:
            if conflict.guard == SUBMISSION_GUARD:
                log.info("%s was erased before its consent was recorded", submission["reference"])
                return written
            continue  # recorded already: the stream repeated the record
        written += 1
        log.info("recorded %s %s from %s", consent["kind"], consent["reference"], submission["reference"])
    return written
