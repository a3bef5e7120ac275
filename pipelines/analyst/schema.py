"""The analyst database's SQL, as warehouse/README.md describes it.

- ``warehouse/analyst/<relation>.sql``: schema files, one table or view per file with a
  ``COMMENT ON`` for the relation and every column (the data dictionary of docs/analyst.md is
  generated from them). They are applied to the analyst file opened as itself: tables first, then
  views (the views read the tables by plain name, whatever the file is later called).
- ``warehouse/analyst/build/<table>.sql``: models, one SELECT per table giving its pseudonymous rows.
  They read the warehouse's schema-qualified relations (``core.person_month``, ``mart.warnings``, …)
  and the build's temporary lookups (``temp.analyst_person_keys``, ``temp.analyst_clean_text``, …),
  bind DuckDB named parameters (``$periods``, ``$as_of``) and create nothing:
  :mod:`pipelines.analyst.build` inserts their rows into the tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.config import REPO_ROOT, WAREHOUSE_SQL_DIR
from pipelines.warehouse import creates_view, ddl_files, sql

ANALYST_SQL_DIR = WAREHOUSE_SQL_DIR / "analyst"
MODEL_DIR = ANALYST_SQL_DIR / "build"


class AnalystDbError(RuntimeError):
    """The analyst database failed its own identifier scan or could not be built."""


def table_files() -> list[Path]:
    """The schema files of the analyst tables (``warehouse/analyst/*.sql`` that create a table)."""
    return [p for p in ddl_files(("analyst",)) if not creates_view(p)]


def view_files() -> list[Path]:
    """The schema files of the analysts' views, one view per file."""
    return [p for p in ddl_files(("analyst",)) if creates_view(p)]


def model_files() -> list[Path]:
    return sorted(MODEL_DIR.glob("*.sql"))


def model_sql(table: str) -> str:
    """The model of ``table`` (``warehouse/analyst/build/<table>.sql``): one SELECT."""
    return sql(f"analyst/build/{table}.sql")


def _apply(con: duckdb.DuckDBPyConnection, files: list[Path], what: str) -> list[str]:
    for path in files:
        try:
            con.execute(path.read_text(encoding="utf-8"))
        except duckdb.Error as e:
            raise AnalystDbError(f"creating analyst {what} {path.relative_to(REPO_ROOT)}: {e}") from e
    return [p.stem for p in files]


def create_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every table schema file on the analyst database open as ``con`` (``create table if not
    exists``: a table kept from the previous build stays as it is)."""
    return _apply(con, table_files(), "table")


def create_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every view schema file (one view per file) on the analyst database open as ``con``."""
    return _apply(con, view_files(), "view")
