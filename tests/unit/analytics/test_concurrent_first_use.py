"""Two Athena-dialect queries translated at once, first thing in a fresh interpreter, both succeed.

sqlglot registers a dialect by name when its class is defined, before the rest of its module has run:
a second thread that looks "athena" up meanwhile got a half-imported module (``NameError:
_TrinoTokenizer``, a 500 from the API). ``athena_to_duckdb`` imports the dialects it names when it is
imported, so no query is the first to load them. Only a fresh interpreter makes this first use real.
The race's window is a few lines of sqlglot, so the threads alone rarely lose it; the check that the
dialect modules are whole before the first query is what fails, every time, without the import.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

FIRST_USE_IN_THREADS = textwrap.dedent(
    """
    import sys
    import threading

    sys.setswitchinterval(1e-6)  # switch threads as often as CPython allows: the window is a few lines long
    from aiorch.analytics.athena_to_duckdb import translate
    from aiorch.analytics.schema import load_schema

    # The dialects are whole before any query: the module that names them imported them.
    athena, duckdb = sys.modules.get("sqlglot.dialects.athena"), sys.modules.get("sqlglot.dialects.duckdb")
    assert athena is not None and hasattr(athena, "_TrinoTokenizer"), "athena dialect not imported whole"
    assert duckdb is not None and hasattr(duckdb, "DuckDB"), "duckdb dialect not imported whole"

    schema = load_schema()
    start = threading.Barrier(16)
    results, errors = [], []

    def query():
        start.wait()  # all threads reach sqlglot's dialect lookup together
        try:
            results.append(translate(f"SELECT operation, count(*) AS n FROM {schema.table} GROUP BY 1", schema))
        except BaseException as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=query) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 16 and len(set(results)) == 1, results
    print(results[0])
    """
)


def test_concurrent_first_translations_in_a_fresh_interpreter_all_succeed() -> None:
    for _ in range(5):  # the race was intermittent: a few fresh interpreters, each its own first use
        done = subprocess.run([sys.executable, "-c", FIRST_USE_IN_THREADS], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "GROUP BY" in done.stdout and "count" in done.stdout.lower(), done.stdout
