"""Echoing what a department sent back to it, safely: short, and never a secret.

A rejection names the value at fault so the sender can find and fix it. A value comes from a file
the pipeline does not control: it may be 200 KB of text, or — a feedback "file" that is really a
link to a key file — the pseudonymisation or encryption key itself. :class:`Echo` is the one rule
for every echoed value (``ops.feedback_rejects``, the reject reports, ingest error messages):
at most :data:`ECHO_MAX_CHARS` characters, and withheld altogether when it shares a run of
:data:`SECRET_WINDOW` characters with a configured secret.
"""

from __future__ import annotations

from typing import Iterable

ECHO_MAX_CHARS = 64
SECRET_WINDOW = 8       # a shared run this long (or the whole secret, if shorter) withholds the value
WITHHELD = "[已隐去 withheld]"
ELLIPSIS = "…"


class Echo:
    """``echo(value)`` -> the value as a rejection may show it (``None`` stays ``None``)."""

    def __init__(self, secrets: Iterable[bytes | str] = (), limit: int = ECHO_MAX_CHARS):
        self.limit = limit
        self._windows: set[str] = set()
        self._lengths: set[int] = set()
        for secret in secrets:
            text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)
            text = text.strip()
            if not text:
                continue
            n = min(SECRET_WINDOW, len(text))
            self._lengths.add(n)
            self._windows.update(text[i:i + n] for i in range(len(text) - n + 1))

    def secret_in(self, text: str) -> bool:
        """Whether ``text`` shares a run of :data:`SECRET_WINDOW` characters with a secret."""
        if not self._windows:
            return False
        for n in self._lengths:
            for i in range(len(text) - n + 1):
                if text[i:i + n] in self._windows:
                    return True
        return False

    def __call__(self, value) -> str | None:
        if value is None:
            return None
        text = str(value)
        shown = text if len(text) <= self.limit else text[:self.limit] + ELLIPSIS
        return WITHHELD if self.secret_in(shown) else shown
