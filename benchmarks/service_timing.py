"""Sign-up answer times of the subscription service: a new address against known ones.

``python -m benchmarks.service_timing [N] [--gap SECONDS]`` runs the service in its own
process (uvicorn configured as ``newsdesk serve`` runs it, rate limits lifted) on
127.0.0.1 with an aiosmtpd sink for the confirmations, sends N sign-ups of each kind
(a new address, a known active one, a known pending one) in a shuffled order over one
keep-alive connection, ``--gap`` seconds apart, and prints the medians. The answer must
not tell the kinds apart. Not part of ``make bench``: it measures a property, not speed.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = {
    "new": None,
    "known active": "known@example.org",
    "known pending": "waiting@example.org",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(root: Path, port: int, smtp_port: int) -> None:
    """The service on ``port`` over a fresh database in ``root`` (the child process)."""
    import uvicorn

    from newsdesk.mail.store import Store
    from newsdesk.service.app import create_app
    from newsdesk.service.limits import Limits
    from newsdesk.service.server import server_config
    from newsdesk.settings import EmailSettings, Settings, SmtpSettings

    settings = Settings(
        root=root,
        site_url="https://letter.example.org/",
        newsletter_name="Timing",
        email=EmailSettings(
            from_="Timing <letter@example.org>",
            service_url=f"http://127.0.0.1:{port}",
            unsubscribe_mailto="unsubscribe@example.org",
            list_id="Timing <timing.example.org>",
            database=root / "newsdesk.sqlite3",
            outbox=root / "outbox",
            live_check=False,
            smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, security="none"),
        ),
    )
    with Store.open(settings.email.database) as store:
        store.add("known@example.org", status="active", source="cli")
        store.add("waiting@example.org", status="pending", source="cli")
    lifted = (10**9, 3600.0)
    limits = Limits(per_client=lifted, per_email=lifted, confirmations=lifted)
    app = create_app(settings, limits=limits, secret=b"timing-secret-" * 3)
    uvicorn.Server(server_config(app, limits, port=port, log_level="warning")).run()


def measure(count: int, gap: float) -> dict[str, list[float]]:
    """Milliseconds per sign-up answer, per kind."""
    import httpx
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    smtp_port, port = _free_port(), _free_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    sink.start()
    root = Path(tempfile.mkdtemp(prefix="service-timing-"))
    args = [str(root), str(port), str(smtp_port)]
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.service_timing", "--serve", *args])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        order = [kind for kind in KINDS for _ in range(count)]
        random.Random(1).shuffle(order)
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        with httpx.Client(timeout=10) as client:
            for n in range(30):  # warm-up
                client.post(f"{url}/subscribe", data={"email": f"warm{n}@example.org"})
            for n, kind in enumerate(order):
                time.sleep(gap)
                address = KINDS[kind] or f"new{n}@example.org"
                started = time.perf_counter()
                response = client.post(f"{url}/subscribe", data={"email": address})
                times[kind].append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
        return times
    finally:
        child.terminate()
        child.wait(10)
        sink.stop()


def main() -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.06, help="seconds between sign-ups")
    parser.add_argument("--serve", nargs=3, metavar=("ROOT", "PORT", "SMTP_PORT"))
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), int(args.serve[2]))
        return
    for kind, ms in measure(args.count, args.gap).items():
        deciles = statistics.quantiles(ms, n=10)
        print(
            f"{kind:14} n={len(ms)}  median {statistics.median(ms):6.2f} ms"
            f"  p10 {deciles[0]:6.2f}  p90 {deciles[-1]:6.2f}"
        )


if __name__ == "__main__":
    main()
