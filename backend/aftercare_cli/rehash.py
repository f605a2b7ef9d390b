"""`aftercare rehash`: move keyed hashes stored under the first scheme to the current one.

The first scheme made every subject hash and idempotency fingerprint one KMS
GenerateMac; the current one computes them in memory under a key derived once
(chalicelib.crypto). The two give different hashes for the same email, so a
deployment that holds items from before finds none of them by email until they
are recomputed, which takes the email, so only staff can do it.

Submissions and consents carry their own sealed email; the ones written now are
marked with the scheme (items.HASH_SCHEME_ATTRIBUTE). For each unmarked one the
command opens the email and computes both hashes. A hash under the current
scheme is only marked; one under the first scheme is replaced on every item of
the person that the by-subject index holds (submissions, consents, idempotency
and warranty records, case history, uploads), each write conditional on the old
hash still being there, and the live idempotency fingerprints of those
submissions follow. Anything else is counted as unmatched and left alone.

It reads each kind through the by-kind index (no Scan), and what it has done
is marked, so a run that stops half-way is finished by running it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click
from chalicelib.crypto import SubjectHasher, subject_hash
from chalicelib.forms import FORMS, InvalidSubmission, validate
from chalicelib.intake import content_fingerprint
from chalicelib.items import (
    CONSENT_KIND,
    HASH_SCHEME,
    HASH_SCHEME_ATTRIBUTE,
    SUBMISSION_PREFIX,
    epoch,
    parsed_timestamp,
    record_type,
    submission_payload,
)
from chalicelib.storage import ItemChange, WriteConflict

from aftercare_cli.audit import audited
from aftercare_cli.staff import Staff

REHASH_GUARD = "subject-hash"
OWNER_KINDS = (*FORMS, CONSENT_KIND)
PROGRESS_EVERY = 100


@dataclass
class Rehash:
    """One run over the owner items of `kinds`; `dry_run` counts what it would write."""

    staff: Staff
    legacy: SubjectHasher
    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    rewritten: Counter[str] = field(default_factory=Counter)
    _moved: set[tuple[str, str]] = field(default_factory=set)

    def run(self, kinds: tuple[str, ...], progress: Callable[[str], None]) -> None:
        for kind in kinds:
            for item in self._unmarked(kind):
                self.counts["checked"] += 1
                self.one(item)
                if self.counts["checked"] % PROGRESS_EVERY == 0:
                    progress(self.line())
            progress(f"{kind}: done; {self.line()}")

    def _unmarked(self, kind: str) -> Iterator[dict[str, Any]]:
        for item in self.staff.table.query_kind(kind, now_epoch=epoch(self.staff.now())):
            if item.get("subject_hash") and item.get(HASH_SCHEME_ATTRIBUTE) != HASH_SCHEME \
                    and (item["pk"], item["sk"]) not in self._moved:
                yield item

    def one(self, item: dict[str, Any]) -> None:
        stored = str(item["subject_hash"])
        email = self._email(item)
        if not email:
            self.counts["without an email"] += 1
            return
        current = subject_hash(self.staff.hasher, email)
        if stored == current:
            self.counts["current"] += 1
            self._write(item, {HASH_SCHEME_ATTRIBUTE: HASH_SCHEME}, stored)
        elif stored == subject_hash(self.legacy, email):
            self.counts["people moved"] += 1
            self._move(stored, current)
        else:
            self.counts["unmatched"] += 1

    def _email(self, item: dict[str, Any]) -> str | None:
        kind = CONSENT_KIND if item.get("kind") == CONSENT_KIND else str(item["kind"])
        personal = self.staff.cipher.open(item["personal"], kind=kind, reference=item["reference"])
        email = personal.get("email")
        return str(email) if email else None

    def _move(self, old: str, new: str) -> None:
        """Every item of the person to the new hash; live fingerprints of their submissions too."""
        related = list(self.staff.table.query_subject(old, now_epoch=epoch(self.staff.now()),
                                                      include_expired=True))
        fingerprints = self._fingerprints(related)
        for item in related:
            changes: dict[str, Any] = {"subject_hash": new}
            if item.get("kind") in OWNER_KINDS and record_type(item) in ("submission", "consent"):
                changes[HASH_SCHEME_ATTRIBUTE] = HASH_SCHEME
            if item.get("fingerprint") in fingerprints:
                changes["fingerprint"] = fingerprints[item["fingerprint"]]
                self.counts["fingerprints"] += 1
            self._write(item, changes, old)
            self.rewritten[record_type(item)] += 1

    def _fingerprints(self, related: list[dict[str, Any]]) -> dict[str, str]:
        """First-scheme fingerprint -> current one, for the person's submissions that have one.

        Only where an Idempotency-Key was sent; a fingerprint that names an
        HTML form post's key (`form:<window>:<fingerprint>`) is left: that key
        is good for 15 minutes, long gone by the time this runs.
        """
        renamed = {}
        for item in related:
            if not str(item["pk"]).startswith(SUBMISSION_PREFIX) or not item.get("fingerprint"):
                continue
            form = FORMS.get(str(item.get("kind")))
            if form is None:
                continue
            personal = self.staff.cipher.open(item["personal"], kind=form.kind, reference=item["reference"])
            created = parsed_timestamp(item.get("created_at")) or self.staff.now()
            try:
                submission = validate(form.model, submission_payload(item, personal), today=created.date())
            except InvalidSubmission:
                self.counts["fingerprints not recomputed"] += 1
                continue
            renamed[content_fingerprint(self.legacy, form.kind, submission)] = content_fingerprint(
                self.staff.hasher, form.kind, submission)
        return renamed

    def _write(self, item: dict[str, Any], changes: dict[str, Any], expected_subject: str) -> None:
        self._moved.add((item["pk"], item["sk"]))
        if self.dry_run:
            self.counts["writes"] += 1
            return
        change = ItemChange(item["pk"], item["sk"], changes, REHASH_GUARD,
                            expect={"subject_hash": expected_subject})
        try:
            self.staff.table.change_all([change])
            self.counts["writes"] += 1
        except WriteConflict:
            # Erased, corrected or already moved meanwhile: a second run sees it as it is now.
            self.counts["changed meanwhile"] += 1

    def line(self) -> str:
        shown = ("checked", "current", "people moved", "writes", "fingerprints", "unmatched",
                 "without an email", "changed meanwhile", "fingerprints not recomputed")
        return ", ".join(f"{self.counts[name]} {name}" for name in shown
                         if self.counts[name] or name in ("checked", "writes"))


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would change; write nothing.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(OWNER_KINDS),
              help="Only the submissions of this kind (or consents); repeat for more. Default: all.")
@click.pass_context
def rehash(ctx: click.Context, dry_run: bool, kinds: tuple[str, ...]) -> None:
    """Recompute subject hashes stored under the first keyed-hash scheme (one KMS call each).

    Needed once, after upgrading a deployment that holds items from before
    the current scheme: until then, commands that find a person by email
    (subject, consent, audit --email) and the tracking page miss those items.
    Safe to stop and run again; every write is conditional and audited.

    \b
    Examples:
      aftercare rehash --dry-run
      aftercare rehash --kind consent
    """
    from aftercare_cli.main import _plainly

    staff: Staff = ctx.obj.get()
    chosen = kinds or OWNER_KINDS
    with _plainly(ctx.obj):
        run = Rehash(staff, staff.settings.legacy_subject_hasher(), dry_run=dry_run)
        if dry_run:
            run.run(chosen, lambda line: click.echo(line, err=True))
        else:
            with audited(staff, "rehash", list(chosen)) as action:
                try:
                    run.run(chosen, lambda line: click.echo(line, err=True))
                finally:
                    action.item_count = run.counts["writes"]
                    action.detail = {name: str(count) for name, count in run.counts.items()}
    moved = ", ".join(f"{count} {name}" for name, count in sorted(run.rewritten.items()))
    verb = "would rewrite" if dry_run else "rewrote"
    click.echo(f"{verb} {run.counts['writes']} item(s)" + (f" ({moved})" if moved else "")
               + f"; {run.counts['unmatched']} unmatched"
               + ("; nothing written (dry run)" if dry_run else ""))
