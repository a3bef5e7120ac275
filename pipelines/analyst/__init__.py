"""The analysts' database: a pseudonymous, read-only copy of the warehouse, and ``lowincome query``.

After each night :func:`build_analyst_db` writes ``analyst.duckdb`` beside the warehouse
(``Settings.analyst_db``). It holds no 身份证号, names, birth dates, family ids or hukou
numbers: persons, households, cases and warnings get stable pseudonymous keys (keyed
HMAC-SHA256), ages replace birth dates, village codes are cut to town codes, and free text
(explanations, notes, evidence) is scrubbed of names and ids. docs/analyst.md is the guide.

One job per module:

- :mod:`~pipelines.analyst.keys`: the pseudonymisation key, pseudonyms, the restricted pseudonym cache
- :mod:`~pipelines.analyst.scrub`: scrubbing names, ids and phone numbers out of free text and JSON
- :mod:`~pipelines.analyst.schema`: the SQL (``warehouse/analyst/*.sql`` schema files,
  ``warehouse/analyst/build/*.sql`` models)
- :mod:`~pipelines.analyst.build`: building the file (incremental months, text cache, atomic swap)
- :mod:`~pipelines.analyst.scan`: the identifier scan that keeps a leaking file from being published
- :mod:`~pipelines.analyst.query`: the read-only connection and ``lowincome query``
- :mod:`~pipelines.analyst.dictionary`: the data dictionary in docs/analyst.md (``lowincome dictionary``)
"""

from pipelines.analyst.build import BUILD_TABLES, PARTITIONED, build_analyst_db, build_format, mentioned_ids
from pipelines.analyst.dictionary import (
    EXAMPLES,
    EXAMPLES_END,
    EXAMPLES_START,
    SCHEMA_END,
    SCHEMA_START,
    dictionary_cli,
    examples_markdown,
    schema_markdown,
    update_doc,
)
from pipelines.analyst.keys import (
    AnalystKeyMissing,
    HmacKey,
    ephemeral_key_path,
    hmac_pads,
    pseudonym_cache_path,
    pseudonyms,
    resolve_hmac_key,
)
from pipelines.analyst.query import connect_analyst, query_cli, run_query
from pipelines.analyst.scan import find_identifiers, relations
from pipelines.analyst.schema import AnalystDbError, view_files
from pipelines.analyst.scrub import NameMatcher, Scrubber

__all__ = [
    "AnalystDbError", "AnalystKeyMissing", "BUILD_TABLES", "EXAMPLES", "EXAMPLES_END", "EXAMPLES_START", "HmacKey",
    "NameMatcher", "PARTITIONED", "SCHEMA_END", "SCHEMA_START", "Scrubber", "build_analyst_db", "build_format",
    "connect_analyst", "dictionary_cli", "ephemeral_key_path", "examples_markdown",
    "find_identifiers", "hmac_pads", "mentioned_ids", "pseudonym_cache_path", "pseudonyms", "query_cli",
    "relations", "resolve_hmac_key", "run_query", "schema_markdown", "update_doc", "view_files",
]
