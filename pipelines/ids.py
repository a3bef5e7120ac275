"""身份证号 (GB 11643-1999) check characters and id normalisation, scalar and vectorised."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# ISO 7064 MOD 11-2 weights for the 17 body digits, and the check character for each remainder.
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
ID_PATTERN = r"^[0-9]{17}[0-9X]$"


def check_char(body17: str) -> str:
    """The check character for a 17-digit body."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError(f"id body must be 17 digits, got {body17!r}")
    total = sum(int(d) * w for d, w in zip(body17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def normalise(pid: str | None) -> str | None:
    """Trim and upper-case (some systems send a lowercase ``x``)."""
    if pid is None:
        return None
    return pid.strip().upper()


def is_valid(pid: str | None) -> bool:
    pid = normalise(pid)
    if pid is None or len(pid) != 18 or not pid[:17].isdigit():
        return False
    return check_char(pid[:17]) == pid[17]


def check_chars_vec(bodies: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) uint8 array of digits -> array of 1-char strings."""
    rem = (bodies.astype(np.int64) @ WEIGHTS) % 11
    return np.array(list(CHECK_CHARS))[rem]


def valid_mask(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Vectorised validity for normalised ids: 18 chars, 17 digits, right check character.

    Nulls are invalid. No Python loop over rows: the ids are viewed as a byte matrix.
    """
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks else pa.array([], pa.string())
    ids = ids.cast(pa.string())
    n = len(ids)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    shaped = pc.and_(pc.equal(pc.utf8_length(ids), 18), pc.match_substring_regex(ids, ID_PATTERN))
    shaped = shaped.fill_null(False).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(shaped)
    if idx.size == 0:
        return out
    good = pc.take(ids, pa.array(idx)).cast(pa.large_string())
    buf = np.frombuffer(good.buffers()[2], dtype=np.uint8)
    offsets = np.frombuffer(good.buffers()[1], dtype=np.int64)[good.offset: good.offset + len(good) + 1]
    starts = offsets[:-1]
    if offsets[-1] - offsets[0] == 18 * len(good):
        # every string is 18 bytes and `take` laid them out back to back: a zero-copy view
        # (the gather below builds an (n, 18) int64 index array: ~1.3 s and 430 MB per 3M ids)
        mat = buf[offsets[0]: offsets[-1]].reshape(len(good), 18)
    else:
        mat = buf[starts[:, None] + np.arange(18)[None, :]]
    digits = mat[:, :17] - ord("0")
    rem = (digits.astype(np.int64) @ WEIGHTS) % 11
    expected = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[rem]
    out[idx] = mat[:, 17] == expected
    return out
