"""A person's data, as the list holds it: for export and for ``subscribers show``.

CSV values are made safe for spreadsheets (:func:`newsdesk.textsafe.spreadsheet_safe`),
one field per column; JSON carries every consent record and event as they are.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import Any

from newsdesk.mail.store import Consent, Store, Subscriber
from newsdesk.textsafe import spreadsheet_safe

CSV_FIELDS = (
    "email",
    "name",
    "status",
    "source",
    "created_at",
    "consent_at",
    "consent_kind",
    "consent_source",
    "consent_client",
    "consent_user_agent",
    "consent_page",
    "consent_text_version",
    "consent_text_hash",
    "consent_reason",
)


def record(store: Store, sub: Subscriber) -> dict[str, Any]:
    """Everything held about ``sub``: the record, every consent and every status change."""
    return {
        "email": sub.email,
        "name": sub.name,
        "status": sub.status,
        "source": sub.source,
        "created_at": sub.created_at,
        "consents": [asdict(c) for c in store.consents(sub.id)],
        "events": [asdict(e) for e in store.events(sub.id)],
    }


def latest_consent(consents: list[Consent]) -> Consent | None:
    """The consent that counts now: the newest one."""
    return consents[-1] if consents else None


def export_csv(store: Store, status: str | None = None) -> str:
    """Subscribers (with ``status``) as CSV with a header row, the newest consent inline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for sub in store.subscribers(status):
        consent = latest_consent(store.consents(sub.id)) or Consent(at="", kind="")
        row = [sub.email, sub.name, sub.status, sub.source, sub.created_at]
        row += [getattr(consent, f.removeprefix("consent_")) for f in CSV_FIELDS[5:]]
        writer.writerow([spreadsheet_safe(str(v)) for v in row])
    return out.getvalue()


def export_json(store: Store, status: str | None = None) -> str:
    """Subscribers (with ``status``) as a JSON list of :func:`record`."""
    data = [record(store, sub) for sub in store.subscribers(status)]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
