"""The nightly HTML report: self-contained, aggregate-only, and its charts really draw.

The rendering test drives Debian's headless Chromium (``/usr/bin/chromium``; CI installs it):
one run dumps the DOM after the inline check script has recorded where each chart is and
whether it drew, a second run takes a screenshot, and the chart regions of that screenshot must
hold the charts' colours. PNG decoding is done here (zlib + numpy; Pillow is not a dependency).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pytest

from analyst_fixtures import build_restricted_warehouse
from pipelines.report import PALETTE, report_path, write_report

CHROMIUM = Path("/usr/bin/chromium")
ID18 = re.compile(r"[0-9]{17}[0-9Xx]")


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    fx = build_restricted_warehouse(root / "warehouse.duckdb")
    docs = root / "work" / "data_docs" / fx.as_of.isoformat()
    (docs / "validations" / "hrss_employment").mkdir(parents=True)
    (docs / "index.html").write_text("<html><body>GX Data Docs</body></html>", encoding="utf-8")
    (docs / "validations" / "hrss_employment" / "run.html").write_text("<html><body>hrss</body></html>", encoding="utf-8")
    con = duckdb.connect(str(fx.warehouse))
    try:
        path = write_report(con, root / "outbox", fx.as_of, data_docs_dir=docs)
    finally:
        con.close()
    return fx, root, path, docs


def test_report_path_and_atomic_write(fixture):
    fx, root, path, _ = fixture
    assert path == report_path(root / "outbox", fx.as_of) == root / "outbox" / "report" / fx.as_of.isoformat() / "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"], "no temp files left beside the report"
    before = path.read_bytes()
    con = duckdb.connect(str(fx.warehouse), read_only=True)
    try:
        again = write_report(con, root / "outbox", fx.as_of,
                             data_docs_dir=root / "work" / "data_docs" / fx.as_of.isoformat())
    finally:
        con.close()
    assert again == path and path.read_bytes() == before, "same data, same night -> byte-identical report"


def test_report_is_self_contained(fixture):
    _, _, path, _ = fixture
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and '<meta charset="utf-8">' in text
    assert "http://" not in text and "https://" not in text, "no external URL of any kind"
    assert not re.search(r"<script[^>]*\bsrc=", text, re.I), "no external scripts"
    assert not re.search(r"<link\b", text, re.I), "no linked stylesheets or icons"
    assert "@import" not in text and "url(" not in text, "no CSS imports or fetched assets"
    assert not re.search(r"""(src|href)=["']//""", text), "no protocol-relative URLs"
    assert text.count('<svg class="chart-svg"') == 5
    for label in ("各指标月度预警", "INC_DROP", "各县预警", "逾期", "属实率", "数据源新鲜度", "nhsa_claims"):
        assert label in text


def test_report_has_no_ids_or_names(fixture):
    fx, _, path, _ = fixture
    text = html.unescape(path.read_text(encoding="utf-8"))
    assert not ID18.search(text)
    leaked = sorted(n for n in fx.names if n in text)
    assert leaked == [], f"roster names in the report: {leaked}"
    for family_id in fx.family_ids:
        assert family_id not in text
    for hukou in fx.hukou_nos:
        assert hukou not in text


def test_feed_table_status_and_data_docs_links(fixture):
    fx, root, path, docs = fixture
    text = path.read_text(encoding="utf-8")
    rows = {feed: status for status, feed in re.findall(r'<tr data-status="(\w+)"><td>[^<]*<code>(\w+)</code>', text)}
    assert rows["nhsa_claims"] == "rejected"
    assert rows["mps_vehicles"] == "stale"
    assert rows["cdpf_disability"] == "waiting"
    assert rows["mca_roster"] == "ok"
    links = re.findall(r'<a href="([^"]+)">', text)
    assert links and all(not link.startswith(("/", "file:")) for link in links), "Data Docs links are relative"
    for link in set(links):
        assert (path.parent / html.unescape(link)).resolve().exists(), link
    assert any(link.endswith("validations/hrss_employment/run.html") for link in links), "feed page preferred"
    assert any(link.endswith("index.html") for link in links), "others fall back to the index"


def test_report_on_an_empty_warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        path = write_report(con, tmp_path / "outbox", dt.date(2026, 1, 5))
    finally:
        con.close()
    text = path.read_text(encoding="utf-8")
    assert text.count("暂无数据 No data") == 5
    assert "Not in the warehouse yet" in text
    assert "校验报告 Data Docs</a>" not in text  # no data docs dir given: no links


# --- headless Chromium ---------------------------------------------------------------------


def _chromium(args: list[str], profile: Path, url: str) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
           "--window-size=1280,2400", "--enable-logging=stderr", "--v=0", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def _console_problems(stderr: str) -> list[str]:
    """Page console output and uncaught errors (the page logs nothing when it is fine); Chromium's
    own noise about D-Bus, GPU and the like is not about the page."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit RGB/RGBA, non-interlaced PNG as an (h, w, channels) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and interlace == 0 and color_type in (2, 6), f"unsupported PNG {header}"
    bpp = 3 if color_type == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    stride = width * bpp
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        ftype, f = raw[y, 0], raw[y, 1:]
        if ftype == 0:
            row = f.copy()
        elif ftype == 1:  # Sub: running sum per channel
            row = np.cumsum(f.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(stride)
        elif ftype == 2:  # Up
            row = f + prev
        elif ftype in (3, 4):  # Average / Paeth: sequential along the row
            fl, pl, rl = f.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                a = rl[i - bpp] if i >= bpp else 0
                b = pl[i]
                if ftype == 3:
                    rl[i] = (fl[i] + ((a + b) >> 1)) & 0xFF
                else:
                    c = pl[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    rl[i] = (fl[i] + pred) & 0xFF
            row = np.array(rl, dtype=np.uint8)
        else:
            raise AssertionError(f"bad PNG filter {ftype} in row {y}")
        out[y] = row
        prev = row
    return out.reshape(height, width, bpp)


def _hex_rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)


def test_png_decoder_roundtrip():
    """The decoder against a PNG written here with every filter type."""
    w, h, bpp = 7, 5, 3
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(h, w * bpp), dtype=np.uint8)
    rows, prev = [], np.zeros(w * bpp, dtype=np.int16)
    for y in range(h):
        cur = img[y].astype(np.int16)
        ftype = y % 5
        left = np.concatenate([np.zeros(bpp, np.int16), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]])
        if ftype == 0:
            f = cur
        elif ftype == 1:
            f = cur - left
        elif ftype == 2:
            f = cur - prev
        elif ftype == 3:
            f = cur - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            f = cur - pred
        rows.append(bytes([ftype]) + (f % 256).astype(np.uint8).tobytes())
        prev = cur

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    assert (decode_png(png).reshape(h, w * bpp) == img).all()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium not installed (apt-get install chromium); "
                                                  "the report's rendering in a browser cannot be checked here")
def test_report_renders_in_headless_chromium(fixture, tmp_path):
    fx, root, path, _ = fixture
    url = path.resolve().as_uri()

    dom = _chromium(["--dump-dom"], tmp_path / "profile-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_problems(dom.stderr) == []
    head = re.search(r"<html[^>]*>", dom.stdout).group(0)
    attrs = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', head)}
    assert attrs.get("data-render") == "ok", attrs
    rects = json.loads(attrs["data-chart-rects"])
    assert set(rects) == {"trend", "county", "overdue", "confirmation", "disposal"}
    assert all(r["marks"] > 0 and r["w"] > 300 and r["h"] > 50 for r in rects.values()), rects

    shot = tmp_path / "report.png"
    run = _chromium([f"--screenshot={shot}"], tmp_path / "profile-shot", url)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert _console_problems(run.stderr) == []
    img = decode_png(shot.read_bytes())[:, :, :3].astype(np.int16)
    assert img.shape[:2] == (2400, 1280)

    # Every chart region must be drawn: enough non-white pixels, and its own mark colours.
    expected_colours = {"trend": PALETTE[0], "county": "#4e79a7", "overdue": "#e15759", "confirmation": "#59a14f",
                        "disposal": "#59a14f"}
    for name, r in rects.items():
        region = img[r["y"]:r["y"] + r["h"], r["x"]:r["x"] + r["w"]]
        assert region.size, f"chart {name} lies outside the screenshot: {r}"
        ink = (region.min(axis=2) < 235).mean()
        assert ink > 0.05, f"chart {name} looks blank ({ink:.3%} non-white)"
        colour = _hex_rgb(expected_colours[name])
        hits = (np.abs(region - colour).max(axis=2) <= 3).sum()
        assert hits > 200, f"chart {name}: only {hits} pixels of {expected_colours[name]}"
    # And the page is not blank between the charts either: the header bar is there.
    assert (np.abs(img[5:40, 5:400] - _hex_rgb("#1f3b57")).max(axis=2) <= 3).mean() > 0.5

    shutil.rmtree(tmp_path / "profile-dom", ignore_errors=True)
    shutil.rmtree(tmp_path / "profile-shot", ignore_errors=True)


def test_report_stage_reads_only_and_takes_no_writer_lock(fixture, tmp_path):
    """The report stage by name (as ``lowincome report`` and the DAG run it) writes into the outbox,
    opens the warehouse read-only and runs while another process holds the writer lock."""
    from pipelines import nightly
    from pipelines.config import Settings
    from pipelines.warehouse import WarehouseLocked

    fx, root, _, _ = fixture
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(fx.warehouse, copy)
    settings = Settings(warehouse=copy, outbox=tmp_path / "outbox")
    assert not nightly.STAGE["report"].writes
    before = copy.read_bytes()
    ready = tmp_path / "holding"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, time
        from pipelines.config import Settings
        from pipelines.warehouse import writer_lock
        with writer_lock(Settings(warehouse=pathlib.Path({str(copy)!r})), owner="a night elsewhere"):
            pathlib.Path({str(ready)!r}).write_text("ok")
            time.sleep(60)
    """)])
    try:
        for _ in range(400):
            if ready.exists():
                break
            time.sleep(0.05)
        assert ready.exists()
        with pytest.raises(WarehouseLocked):  # a writing stage is refused ...
            nightly.run_stage(settings, "cases", as_of=fx.as_of)
        path = nightly.run_stage(settings, "report", as_of=fx.as_of)  # ... the reading one runs
    finally:
        holder.kill()
        holder.wait()
    assert copy.read_bytes() == before  # opened read-only: not even a checkpoint
    assert path == tmp_path / "outbox" / "report" / fx.as_of.isoformat() / "report.html"
    assert "各指标月度预警" in path.read_text(encoding="utf-8")
