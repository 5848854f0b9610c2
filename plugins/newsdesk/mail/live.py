"""The live check: is an issue's page online before its email points readers there?"""

from __future__ import annotations

import urllib.error
import urllib.request


def check_live(url: str, timeout: float = 15) -> str | None:
    """``None`` when ``url`` answers 2xx, else why not."""
    request = urllib.request.Request(url, headers={"User-Agent": "newsdesk live check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return None
            return f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} is not reachable: {reason}"
