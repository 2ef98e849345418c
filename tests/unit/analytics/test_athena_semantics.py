"""Athena's documented behaviour, answered locally by DuckDB, where the two dialects differ.

Each case quotes the Trino documentation (Athena engine v3 runs Trino) that gives the expected
value, with its address. Where DuckDB cannot keep Athena's meaning, the query is refused
with a plain-words message instead of answered wrongly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import duckdb
import pytest

from aiorch.analytics.athena_to_duckdb import InvalidQuery, UnsupportedQuery
from aiorch.analytics.local import LocalQueryFailed, LocalRunner
from aiorch.analytics.records import AnalyticsRow, write_row
from aiorch.storage import LocalStorage

MATH = "https://trino.io/docs/current/functions/math.html"
AGGREGATE = "https://trino.io/docs/current/functions/aggregate.html"
COMPARISON = "https://trino.io/docs/current/functions/comparison.html"
DATETIME = "https://trino.io/docs/current/functions/datetime.html"
ARRAY = "https://trino.io/docs/current/functions/array.html"
SELECT = "https://trino.io/docs/current/sql/select.html"
JODA = "https://www.joda.org/joda-time/apidocs/org/joda/time/format/DateTimeFormat.html"


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """The results table holding one row: input_width 7, tiles 2 (both int), error_type NULL."""
    root = tmp_path_factory.mktemp("semantics")
    row = AnalyticsRow(
        execution_id="E1",
        operation="upscale",
        status="SUCCEEDED",
        input_width=7,
        tiles=2,
        total_ms=-7,
        started_at=datetime(2026, 3, 7, 23, 0, tzinfo=UTC),
        finished_at=datetime(2026, 3, 8, 1, 0, tzinfo=UTC),
    )
    write_row(LocalStorage(root), row)
    return LocalRunner(root)


def value(runner: LocalRunner, sql: str):
    result = runner.run(sql)
    assert len(result.rows) == 1 and len(result.columns) == 1, result
    return result.rows[0][result.columns[0]]


# --- integer division ------------------------------------------------------------------------------
# MATH: "| `/` | Division (integer division performs truncation) |"


def test_integer_division_of_literals_truncates(runner):
    assert value(runner, "SELECT 7 / 2") == 3
    assert value(runner, "SELECT -7 / 2") == -3  # truncation, toward zero (not floor: -4)


def test_integer_division_of_int_columns_truncates_because_the_schema_types_them(runner):
    assert value(runner, "SELECT input_width / tiles FROM results") == 3
    assert value(runner, "SELECT total_ms / tiles FROM results") == -3


def test_division_with_a_double_does_not_truncate(runner):
    assert value(runner, "SELECT input_width / 2e0 FROM results") == 3.5
    assert value(runner, "SELECT CAST(input_width AS double) / tiles FROM results") == 3.5


def test_decimal_division_is_refused_because_athena_keeps_the_decimal_scale(runner):
    # In Athena 2.0 is a DECIMAL literal; DuckDB would answer 3.5 in double.
    with pytest.raises(UnsupportedQuery, match="divides a DECIMAL"):
        runner.run("SELECT input_width / 2.0 FROM results")


def test_integer_division_by_zero_fails_rather_than_answering(runner):
    # The docs do not say; Trino's IntegerOperators.divide throws DIVISION_BY_ZERO ("Division by zero").
    # DuckDB 2 raises too (DuckDB 1 answered NULL), hence the duckdb>=2.0 requirement.
    with pytest.raises(LocalQueryFailed, match=r"(?i)division by zero"):
        runner.run("SELECT input_width / (tiles - 2) FROM results")


def test_cast_of_a_double_to_integer_rounds_half_away_from_zero(runner):
    # MATH: "round(x) -> [same as input]: Returns x rounded to the nearest integer."  The docs do not
    # say how ties go; Trino's source does (DoubleOperators.castToInteger calls MathFunctions.round,
    # which for a negative number returns -(Math.round(-num)), so ties go away from zero):
    # https://github.com/trinodb/trino/blob/master/core/trino-main/src/main/java/io/trino/operator/scalar/MathFunctions.java
    # (DuckDB's own cast rounds ties to even: 2.5 -> 2.)
    assert value(runner, "SELECT CAST(2.5e0 AS integer)") == 3
    assert value(runner, "SELECT CAST(-2.5e0 AS bigint)") == -3
    assert value(runner, "SELECT round(2.5e0)") == 3.0


# --- NULL handling ---------------------------------------------------------------------------------
# AGGREGATE: "Except for count(), count_if(), max_by(), min_by() and approx_distinct(), all of these
#   aggregate functions ignore null values and return null for no input rows or when all values are
#   null. For example, sum() returns null rather than zero ..."


def test_sum_of_no_rows_is_null_and_count_is_zero(runner):
    assert value(runner, "SELECT sum(total_ms) FROM results WHERE false") is None
    assert value(runner, "SELECT count(total_ms) FROM results WHERE false") == 0


def test_approx_distinct_of_only_nulls_is_zero(runner):
    # AGGREGATE, approx_distinct: "Zero is returned if all input values are null."
    assert value(runner, "SELECT approx_distinct(error_type) FROM results") == 0


def test_greatest_is_null_when_any_argument_is_null(runner):
    # COMPARISON: "Like most other functions in Trino, they return null if any argument is null.
    #   Note that in some other databases, such as PostgreSQL, they only return null if all
    #   arguments are null."  (DuckDB's greatest() skips NULLs.)
    assert value(runner, "SELECT greatest(input_width, input_height) FROM results") is None
    assert value(runner, "SELECT least(1, NULL)") is None


def test_concat_with_null_is_null(runner):
    # COMPARISON: "Like most other functions in Trino, they return null if any argument is null."
    # (DuckDB's concat() skips NULLs: concat('a', NULL) = 'a'.)
    assert value(runner, "SELECT concat(operation, error_type) FROM results") is None


def test_between_with_null_follows_the_documented_rules(runner):
    # COMPARISON: "SELECT NULL BETWEEN 2 AND 4; -- null ... SELECT 2 BETWEEN 3 AND NULL; -- false"
    assert value(runner, "SELECT NULL BETWEEN 2 AND 4") is None
    assert value(runner, "SELECT 2 BETWEEN 3 AND NULL") is False


def test_nulls_sort_last_in_both_directions(runner):
    # SELECT: "The default null ordering is NULLS LAST, regardless of the ordering direction."
    sql = "SELECT x FROM (VALUES (1), (NULL), (3)) AS t(x) ORDER BY x DESC"
    assert [r["x"] for r in runner.run(sql).rows] == [3, 1, None]


# --- dates and times -------------------------------------------------------------------------------


def test_date_diff_counts_whole_units_not_boundaries(runner):
    # DATETIME: "date_diff(unit, timestamp1, timestamp2) -> bigint: Returns timestamp2 - timestamp1
    #   expressed in terms of unit" -- 23:00 to 01:00 the next day is 2 hours: 0 whole days.
    # (DuckDB's date_diff counts day boundaries crossed and would say 1.)
    assert value(runner, "SELECT date_diff('day', started_at, finished_at) FROM results") == 0
    assert value(runner, "SELECT date_diff('hour', started_at, finished_at) FROM results") == 2
    # DATETIME: "SELECT date_diff('day', DATE '2020-03-01', DATE '2020-03-02'); -- 1"
    assert value(runner, "SELECT date_diff('day', DATE '2020-03-01', DATE '2020-03-02')") == 1
    # DATETIME: "SELECT date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00'); -- 86400"
    sql = "SELECT date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00')"
    assert value(runner, sql) == 86400


def test_timestamps_print_as_athena_prints_them(runner):
    # DATETIME: "SELECT date_trunc('month' , TIMESTAMP '2022-10-20 05:10:00'); -- 2022-10-01 00:00:00.000"
    assert value(runner, "SELECT date_trunc('month', TIMESTAMP '2022-10-20 05:10:00')") == "2022-10-01 00:00:00.000"
    # DATETIME: "| `+` | `timestamp '2012-10-31 01:00' + interval '1' month` | `2012-11-30 01:00:00.000` |"
    assert value(runner, "SELECT timestamp '2012-10-31 01:00' + interval '1' month") == "2012-11-30 01:00:00.000"
    # DATETIME: "SELECT date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00'); -- 2020-03-01 00:01:26.000"
    sql = "SELECT date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00')"
    assert value(runner, sql) == "2020-03-01 00:01:26.000"


def test_date_arithmetic_in_days_stays_a_date(runner):
    # DATETIME: "| `+` | `date '2012-08-08' + interval '2' day` | `2012-08-10` |" and
    #   "| `-` | `date '2012-08-08' - interval '2' day` | `2012-08-06` |"  (DuckDB makes these timestamps.)
    assert value(runner, "SELECT date '2012-08-08' + interval '2' day") == "2012-08-10"
    assert value(runner, "SELECT date '2012-08-08' - interval '2' day") == "2012-08-06"
    # DATETIME: "date_add(unit, value, timestamp) -> [same as input]"; "date_trunc(unit, x) -> [same as input]"
    assert value(runner, "SELECT date_add('month', 1, DATE '2026-01-31')") == "2026-02-28"
    assert value(runner, "SELECT date_trunc('week', DATE '2001-08-22')") == "2001-08-20"


def test_cast_of_text_to_an_integer_accepts_only_a_sign_and_digits(runner):
    # Trino's docs give no example; its source does (VarcharOperators.castToBigint:
    #   "return Long.parseLong(slice.toStringUtf8());" else "Cannot cast '%s' to BIGINT"):
    # https://github.com/trinodb/trino/blob/master/core/trino-main/src/main/java/io/trino/type/VarcharOperators.java
    # Java's Long.parseLong takes an optional sign and digits only. (DuckDB's cast reads '1.5' as 2.)
    assert value(runner, "SELECT CAST('+7' AS bigint)") == 7
    assert value(runner, "SELECT CAST(NULL AS bigint)") is None
    with pytest.raises(LocalQueryFailed, match=re.escape("Cannot cast '1.5' to")):
        runner.run("SELECT CAST('1.5' AS integer)")
    assert value(runner, "SELECT TRY_CAST('1.5' AS integer)") is None


def test_cast_of_a_timestamp_to_varchar_shows_milliseconds(runner):
    # Athena's timestamp is timestamp(3); DuckDB's own cast would print '2022-10-20 05:10:00'.
    sql = "SELECT CAST(TIMESTAMP '2022-10-20 05:10:00' AS varchar)"
    assert value(runner, sql) == "2022-10-20 05:10:00.000"


def test_date_format_uses_mysql_specifiers(runner):
    # DATETIME: "SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H'); -- 10-20-2022 05"
    assert value(runner, "SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H')") == "10-20-2022 05"
    # DATETIME: "| `%i` | Minutes, numeric (`00` .. `59`) |" and "| `%W` | Weekday name (`Sunday` .. `Saturday`) |"
    assert value(runner, "SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%i %W')") == "10 Thursday"


def test_date_parse(runner):
    # DATETIME: "SELECT date_parse('2022/10/20/05', '%Y/%m/%d/%H'); -- 2022-10-20 05:00:00.000"
    assert value(runner, "SELECT date_parse('2022/10/20/05', '%Y/%m/%d/%H')") == "2022-10-20 05:00:00.000"


def test_format_datetime_takes_joda_patterns(runner):
    # DATETIME: "format_datetime(timestamp, format) -> varchar: Formats timestamp as a string using format."
    #   with "a format string that is compatible with JodaTime's DateTimeFormat pattern format".
    # JODA: "y year", "M month of year", "d day of month", "H hour of day (0~23)", "m minute of hour",
    #   "E day of week" ("Text: If the number of pattern letters is 4 or more, the full form is used").
    sql = "SELECT format_datetime(TIMESTAMP '2022-10-20 05:10:00', 'yyyy-MM-dd HH:mm')"
    assert value(runner, sql) == "2022-10-20 05:10"
    sql = "SELECT format_datetime(TIMESTAMP '2022-10-20 05:10:00', 'EEEE, d MMMM yyyy ''at'' H')"
    assert value(runner, sql) == "Thursday, 20 October 2022 at 5"


def test_format_datetime_refuses_pattern_letters_it_cannot_translate(runner):
    with pytest.raises(UnsupportedQuery, match="pattern letter 'zzz'"):
        runner.run("SELECT format_datetime(started_at, 'HH:mm zzz') FROM results")


def test_to_iso8601(runner):
    # DATETIME: "to_iso8601(x) -> varchar: Formats x as an ISO 8601 string. x can be date, timestamp,
    #   or timestamp with time zone."  Timestamps carry Athena's millisecond precision.
    assert value(runner, "SELECT to_iso8601(DATE '2020-05-11')") == "2020-05-11"
    assert value(runner, "SELECT to_iso8601(TIMESTAMP '2020-05-11 11:15:05.055')") == "2020-05-11T11:15:05.055"


def test_day_of_week_is_iso(runner):
    # DATETIME: "day_of_week(x) -> bigint: Returns the ISO day of the week from x.
    #   The value ranges from 1 (Monday) to 7 (Sunday)."  2026-03-08 is a Sunday.
    assert value(runner, "SELECT day_of_week(DATE '2026-03-08')") == 7


def test_at_time_zone_read_through_a_wall_clock_function(runner):
    # DATETIME: "SELECT timestamp '2012-10-31 01:00 UTC' AT TIME ZONE 'America/Los_Angeles';
    #   -- 2012-10-30 18:00:00.000 America/Los_Angeles"   (Athena's session time zone is UTC.)
    at_la = "TIMESTAMP '2012-10-31 01:00' AT TIME ZONE 'America/Los_Angeles'"
    assert value(runner, f"SELECT hour({at_la})") == 18
    assert value(runner, f"SELECT date({at_la})") == "2012-10-30"
    assert value(runner, f"SELECT format_datetime({at_la}, 'yyyy-MM-dd HH:mm:ss.SSS')") == "2012-10-30 18:00:00.000"


def test_at_time_zone_on_its_own_is_refused(runner):
    # DuckDB has no timestamp that keeps its zone name, so the bare value cannot be shown as Athena does.
    with pytest.raises(UnsupportedQuery, match="timestamp with time zone"):
        runner.run("SELECT started_at AT TIME ZONE 'America/Los_Angeles' FROM results")


def test_sequence_counts_down_when_start_is_after_stop(runner):
    # ARRAY: "sequence(start, stop) -> array(bigint): Generate a sequence of integers from start to
    #   stop, incrementing by 1 if start is less than or equal to stop, otherwise -1."
    assert value(runner, "SELECT sequence(5, 1)") == [5, 4, 3, 2, 1]
    assert value(runner, "SELECT sequence(1, 3)") == [1, 2, 3]


def test_sequence_of_dates_steps_by_days_and_yields_dates(runner):
    # ARRAY: "sequence(start, stop) -> array(date): Generate a sequence of dates from start date to stop
    #   date, incrementing by 1 day if start date is less than or equal to stop date, otherwise -1 day."
    assert value(runner, "SELECT sequence(DATE '2026-02-27', DATE '2026-03-01')") == [
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
    ]
    assert value(runner, "SELECT sequence(DATE '2026-03-01', DATE '2026-02-27')") == [
        "2026-03-01",
        "2026-02-28",
        "2026-02-27",
    ]


# --- percentiles and other aggregates --------------------------------------------------------------


def test_approx_percentile_is_within_rank_error(runner):
    # AGGREGATE: "approx_percentile(x, percentage) -> [same as x]: Returns the approximate percentile for
    #   all input values of x at the given percentage."  Trino's page gives no error figure; Presto's
    #   (https://prestodb.io/docs/current/functions/aggregate.html) says "with a maximum rank error of
    #   accuracy ... The default accuracy is 0.0133." Locally the answer is exact (rank error 0).
    values = list(range(1, 101))
    p50 = value(runner, "SELECT approx_percentile(x, 0.5) FROM UNNEST(sequence(1, 100)) AS t(x)")
    assert p50 in values and abs(p50 / 100 - 0.5) <= 0.0133
    both = value(runner, "SELECT approx_percentile(x, ARRAY[0.5, 0.9]) FROM UNNEST(sequence(1, 100)) AS t(x)")
    assert len(both) == 2 and abs(both[1] / 100 - 0.9) <= 0.0133


def test_weighted_approx_percentile_treats_the_weight_as_a_replication_count(runner):
    # AGGREGATE: "approx_percentile(x, w, percentage) -> [same as x]: Returns the approximate weighed
    #   percentile for all input values of x using the per-item weight w at the percentage percentage.
    #   Weights must be greater or equal to 1. Integer-value weights can be thought of as a replication
    #   count for the value x in the percentile set."
    # sqlglot's plain transpilation drops w (10 would be the median); the weight is kept here.
    sql = "SELECT approx_percentile(x, w, {p}) FROM (VALUES (10, 1), (20, 1), (30, 5)) AS t(x, w)"
    replicated = [10, 20, 30, 30, 30, 30, 30]
    for p in (0.1, 0.5, 0.9):
        got = value(runner, sql.format(p=p))
        below = sum(v < got for v in replicated) / len(replicated)
        at_or_below = sum(v <= got for v in replicated) / len(replicated)
        assert below - 0.0133 <= p <= at_or_below + 0.0133, (p, got)
    assert value(runner, sql.format(p=0.5)) == 30


def test_weighted_approx_percentile_rejects_weights_below_one(runner):
    # AGGREGATE: "Weights must be greater or equal to 1."
    with pytest.raises(LocalQueryFailed, match="weights must be at least 1"):
        runner.run("SELECT approx_percentile(x, w, 0.5) FROM (VALUES (10, 0)) AS t(x, w)")


def test_weighted_approx_percentile_over_an_array_of_percentages_is_refused(runner):
    with pytest.raises(UnsupportedQuery, match="one percentage"):
        runner.run("SELECT approx_percentile(total_ms, tiles, ARRAY[0.5, 0.9]) FROM results")


def test_map_agg(runner):
    # AGGREGATE: "map_agg(key, value) -> map<K,V>: Returns a map created from the input key / value pairs."
    sql = "SELECT map_agg(k, v) FROM (VALUES ('a', 1), ('b', 2)) AS t(k, v)"
    assert value(runner, sql) == {"a": 1, "b": 2}


# --- what is refused or rejected -------------------------------------------------------------------


def test_cast_of_a_double_to_varchar_is_refused(runner):
    # Athena prints doubles in scientific notation (CAST(1.5e0 AS varchar) = '1.5E0'); DuckDB prints '1.5'.
    with pytest.raises(UnsupportedQuery, match="scientific notation"):
        runner.run("SELECT CAST(estimated_cost_usd AS varchar) FROM results")


def test_unknown_functions_are_refused_not_passed_through(runner):
    with pytest.raises(UnsupportedQuery, match="not known"):
        runner.run("SELECT human_readable_seconds(total_ms) FROM results")


def test_unknown_columns_and_tables_are_named_in_the_error(runner):
    with pytest.raises(InvalidQuery, match="'nope' could not be resolved"):
        runner.run("SELECT nope FROM results")
    with pytest.raises(InvalidQuery, match="unknown table"):
        runner.run("SELECT * FROM other_table")


def test_only_read_only_queries_are_answered(runner):
    with pytest.raises(UnsupportedQuery, match="read-only"):
        runner.run("DELETE FROM results")
    with pytest.raises(duckdb.Error, match=r"(?i)(permission|disabled)"):
        runner.connection.execute("SELECT * FROM read_csv('/etc/hostname')")


# --- strings and names -----------------------------------------------------------------------------
CONVERSION = "https://trino.io/docs/current/functions/conversion.html"


def test_format_follows_the_documented_examples(runner):
    # CONVERSION: "format(format, args...) -> varchar: Returns a formatted string using the specified
    #   format string and arguments:  SELECT format('%s%%', 123); -- '123%'
    #   SELECT format('%.5f', pi()); -- '3.14159'   SELECT format('%03d', 8); -- '008'
    #   SELECT format('%-7s,%7s', 'hello', 'world'); -- 'hello  ,  world'"
    # (DuckDB's own format() takes {} placeholders and would print '%s%%' unchanged.)
    assert value(runner, "SELECT format('%s%%', 123)") == "123%"
    assert value(runner, "SELECT format('%.5f', pi())") == "3.14159"
    assert value(runner, "SELECT format('%03d', 8)") == "008"
    assert value(runner, "SELECT format('%-7s,%7s', 'hello', 'world')") == "hello  ,  world"


def test_format_refuses_java_only_specifiers(runner):
    # CONVERSION: "SELECT format('%,.2f', 1234567.89); -- '1,234,567.89'" -- C's printf has no ',' flag.
    with pytest.raises(UnsupportedQuery, match=re.escape("'%,.2f'")):
        runner.run("SELECT format('%,.2f', 1234567.89)")
    with pytest.raises(UnsupportedQuery, match=re.escape("'%2$s'")):
        runner.run("SELECT format('%2$s %3$s %1$s', 'a', 'b', 'c')")


def test_unnamed_columns_are_named_as_athena_names_them(runner):
    # Athena names an unnamed output column _col<position>, counting from 0, and keeps plain column names.
    result = runner.run("SELECT operation, count(*), max(total_ms) AS slowest FROM results GROUP BY operation")
    assert result.columns == ["operation", "_col1", "slowest"]
