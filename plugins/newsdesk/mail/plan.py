"""Which issues ``send`` mails now: new published ones, the interrupted ones to continue,
and on a first run the back catalogue to archive instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsdesk.errors import NewsdeskError
from newsdesk.mail.store import IssueRecord, Store
from newsdesk.rendering import IssueRendering


@dataclass
class Plan:
    """What ``send`` will do: issues to send (oldest first), to archive, and why not others."""

    send: list[IssueRendering] = field(default_factory=list)
    archive: list[IssueRendering] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def take_refused(self) -> list[IssueRendering]:
        """Take the issues the strict build does not accept out of :attr:`send`; return them."""
        refused = [r for r in self.send if r.problems]
        self.send = [r for r in self.send if not r.problems]
        return refused


def plan_issues(
    store: Store,
    renderings: Sequence[IssueRendering],
    *,
    only: str | None = None,
    today: dt.date | None = None,
) -> Plan:
    """Decide which published issues to send now.

    New issues are the published ones (not future) the ledger does not know. With an
    empty ledger only the newest is sent and the back catalogue is archived. An unsent
    issue with the title and date of one in the ledger is a renamed file and is not sent.
    Issues whose sending was interrupted are continued. ``only`` sends that issue.
    """
    today = today or dt.date.today()
    published = [r for r in renderings if r.date <= today]
    records = {rec.slug: rec for rec in store.issues()}
    if only is not None:
        return _plan_one(only, published, records)
    plan = Plan()
    _continue_interrupted(plan, published, records)
    new = [r for r in published if r.slug not in records]
    kept = [r for r in new if not _renamed(plan, r, records)]
    if not records and len(kept) > 1:
        *older, newest = kept
        plan.archive = older
        kept = [newest]
        plan.notes.append(
            f"first run: only the newest issue ({newest.slug}) is mailed; the "
            f"{len(older)} older ones are the back catalogue (archived, never mailed): "
            + ", ".join(r.slug for r in older)
        )
    plan.send += kept
    return plan


def _plan_one(only: str, published: list[IssueRendering], records: dict[str, IssueRecord]) -> Plan:
    """The plan of ``send --issue ONLY``: that issue, unless it was sent already."""
    plan = Plan()
    chosen = next((r for r in published if r.slug == only), None)
    if chosen is None:
        known = ", ".join(r.slug for r in published) or "none"
        raise NewsdeskError(f"no published issue '{only}' (published: {known})")
    rec = records.get(only)
    if rec is not None and rec.state == "sent":
        plan.notes.append(f"{only}: already sent on {rec.finished_at}; nothing to do")
    else:
        plan.send.append(chosen)
    return plan


def _continue_interrupted(
    plan: Plan, published: list[IssueRendering], records: dict[str, IssueRecord]
) -> None:
    """Add the issues whose sending was interrupted, if they are still published."""
    by_slug = {r.slug: r for r in published}
    for rec in records.values():
        if rec.state != "sending":
            continue
        if rec.slug in by_slug:
            plan.send.append(by_slug[rec.slug])
        else:
            plan.notes.append(
                f"{rec.slug}: its sending was interrupted but it is no longer published; "
                "its remaining deliveries wait until it is"
            )


def _renamed(plan: Plan, r: IssueRendering, records: dict[str, IssueRecord]) -> bool:
    """Whether new issue ``r`` has the title and date of one in the ledger (a renamed
    file); if so, say so in ``plan``."""
    date = r.date.isoformat()
    twin = next((rec for rec in records.values() if (rec.title, rec.date) == (r.title, date)), None)
    if twin is None:
        return False
    plan.notes.append(
        f"{r.slug}: not sent: it has the title and date of '{twin.slug}' "
        f"({twin.state}), so it is probably that issue renamed; "
        f"use --issue {r.slug} to send it anyway"
    )
    return True


def dry_run_notes(store: Store, plan: Plan, *, rehearsal: bool) -> list[str]:
    """What ``send --dry-run`` says ``plan`` would do (``rehearsal``: into the outbox)."""
    notes = [f"{r.slug}: would be archived" for r in plan.archive]
    active = store.counts()["active"]
    for r in plan.send:
        rec = store.issue(r.slug)
        if rec is not None and rec.state == "sending":
            waiting = len(store.open_deliveries(r.slug))
            notes.append(f"{r.slug}: would continue, {waiting} deliveries open")
        elif rehearsal:
            waiting = len(store.outbox_recipients(r.slug))
            notes.append(f"{r.slug}: would be written to the outbox for {waiting}")
        else:
            notes.append(f"{r.slug}: would be sent to {active} active subscribers")
    return notes
