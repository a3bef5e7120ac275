"""The command line as a new user meets it: a first night with nothing delivered completes and says
so; configuration and environment errors print one line that says what to do and exit non-zero,
without a traceback (``--debug`` shows it)."""

from __future__ import annotations

import pytest

from pipelines.cli import main

KEY = "k" * 32


@pytest.fixture
def paths(tmp_path, monkeypatch):
    for name in ("LOWINCOME_HMAC_KEY", "LOWINCOME_HMAC_KEY_FILE", "LOWINCOME_CONFIG", "LOWINCOME_LANDING",
                 "LOWINCOME_WAREHOUSE", "LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY"):
        monkeypatch.delenv(name, raising=False)
    landing = tmp_path / "landing"
    landing.mkdir()
    return {"landing": landing, "warehouse": tmp_path / "wh" / "warehouse.duckdb", "outbox": tmp_path / "outbox"}


def run(paths, *extra) -> int:
    return main(["run", "--landing", str(paths["landing"]), "--warehouse", str(paths["warehouse"]),
                 "--outbox", str(paths["outbox"]), "--as-of", "2026-03-05", *extra])


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_first_night_with_nothing_delivered_completes_and_says_so(paths, capsys, monkeypatch):
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    assert run(paths) == 0
    out = capsys.readouterr().out
    assert "no new deliveries" in out
    assert (paths["outbox"] / "report" / "2026-03-05" / "report.html").exists()
    assert paths["warehouse"].exists() and (paths["warehouse"].parent / "analyst.duckdb").exists()
    assert run(paths) == 0  # and again: nothing new, nothing breaks


def test_landing_zone_that_does_not_exist(paths, capsys, monkeypatch):
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    paths["landing"] = paths["landing"] / "typo"
    assert run(paths) == 2
    line = one_line(capsys)
    assert "landing zone" in line and "does not exist" in line and "--landing" in line
    assert not paths["warehouse"].exists()  # checked before anything is written


def test_no_pseudonymisation_key(paths, capsys):
    assert run(paths) == 2
    line = one_line(capsys)
    assert "LOWINCOME_HMAC_KEY" in line
    assert not paths["warehouse"].exists()
    assert run(paths, "--skip", "analyst") == 0  # a night without the analyst database is possible


def test_debug_shows_the_traceback(paths):
    with pytest.raises(Exception, match="LOWINCOME_HMAC_KEY"):
        main(["--debug", "run", "--landing", str(paths["landing"]), "--warehouse", str(paths["warehouse"]),
              "--outbox", str(paths["outbox"])])


@pytest.mark.parametrize("text, words", [
    ("[settings\nlanding = 1", "not valid TOML"),
    ("[settings]\nlandng = '/data'\n", "unknown settings"),
    ("[indicators.INC_DROP.params]\ndrop_ratoi = 0.6\n", "drop_ratoi"),
    ("[deadlines]\nhigh = 'soon'\n", "deadlines.high"),
])
def test_bad_config_file(paths, capsys, monkeypatch, tmp_path, text, words):
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    config = tmp_path / "lowincome.toml"
    config.write_text(text, encoding="utf-8")
    assert run(paths, "--config", str(config)) == 2
    line = one_line(capsys)
    assert words in line
    assert not paths["warehouse"].exists()  # checked before the night starts


def test_config_file_that_does_not_exist(paths, capsys, tmp_path):
    assert run(paths, "--config", str(tmp_path / "missing.toml")) == 2
    assert "missing.toml" in one_line(capsys)


def test_report_before_any_night(paths, capsys):
    assert main(["report", "--warehouse", str(paths["warehouse"]), "--outbox", str(paths["outbox"])]) == 2
    assert "run a night first" in one_line(capsys)
