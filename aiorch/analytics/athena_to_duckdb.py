"""Athena (Trino) SQL → DuckDB SQL that keeps Athena's meaning, or a clear refusal.

sqlglot transpiles the syntax; this module adds what transpiling alone gets wrong.
The query is typed against the results table's schema first, because several
differences depend on the operands' types:

- ``int / int`` truncates in Athena and not in DuckDB: rewritten to DuckDB's ``//``
  (which truncates toward zero and raises on a zero divisor, as Athena does).
- ``decimal / x`` keeps the decimal scale in Athena; DuckDB answers in double: refused.
  (In Athena ``1.5`` is a DECIMAL literal; ``1.5e0`` and ``CAST(... AS double)`` are doubles.)
- ``approx_percentile(x, p)``: answered exactly (``quantile_disc``), which lies within
  any approximation error. With a weight, exactly too, by a macro that treats the weight as
  a replication count (sqlglot's plain transpilation drops the weight silently).
- ``approx_distinct``: answered exactly with ``count(DISTINCT x)``.
- ``format_datetime`` (Joda patterns) and ``to_iso8601``: rewritten to ``strftime``.
- ``date_diff``: Athena counts whole units between the values, DuckDB's ``date_diff``
  counts unit boundaries crossed: rewritten to DuckDB's ``date_sub``.
- ``map_agg``: rewritten to ``map_from_entries(list(...))`` (DuckDB has none).
- ``x AT TIME ZONE z`` yields a timestamp *with* time zone in Athena; DuckDB has no such
  value. Supported only where a function reads its wall-clock fields (``date()``, ``hour()``,
  ``format_datetime``...), refused elsewhere.
- ``sequence(a, b)`` counts down when ``a > b`` in Athena; DuckDB's ``generate_series``
  returns nothing. Dates are stepped in days and stay dates.
- ``CAST(double AS integer)`` rounds half away from zero in Athena, half to even in DuckDB:
  rounded first. ``CAST(varchar AS integer)`` accepts only an optional sign and digits in Athena.
- ``date +/- interval`` (days or more) and ``date_trunc`` of a date stay DATEs, as in Athena.
- ``CAST(double AS varchar)`` prints ``1.5E0`` in Athena: refused. ``CAST(timestamp AS varchar)``
  always shows milliseconds in Athena: rewritten.
- Functions sqlglot does not know are refused rather than passed through on trust.

Timestamps in the results table have millisecond precision in Athena (Glue ``timestamp``);
the local table view rounds them the same way (see ``local.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot

# The dialects named below ("athena", "duckdb"), imported whole, once, here. sqlglot registers a dialect by
# name as soon as its class is defined, before the rest of its module has run: two queries at once, the
# first of the process, had one thread find "athena" registered and half-imported (NameError:
# _TrinoTokenizer, a 500). Module imports are serialised by Python's import lock; first uses are not.
import sqlglot.dialects.athena
import sqlglot.dialects.duckdb
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from aiorch.analytics.errors import AnalyticsQueryError, InvalidQuery, UnsupportedQuery
from aiorch.analytics.schema import TableSchema

__all__ = ["AnalyticsQueryError", "InvalidQuery", "Translation", "UnsupportedQuery", "translate", "translate_query"]


INTEGER_TYPES = {exp.DType.TINYINT, exp.DType.SMALLINT, exp.DType.INT,
                 exp.DType.BIGINT}  # fmt: skip
FLOAT_TYPES = {exp.DType.DOUBLE, exp.DType.FLOAT}
DATE_TYPE = exp.DType.DATE
TIMESTAMP_TYPES = {exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.DATETIME}

# Functions that read only the wall-clock fields of a timestamp: safe consumers of AT TIME ZONE.
WALL_CLOCK_READERS = (exp.Date, exp.Year, exp.Month, exp.Day, exp.Hour, exp.Minute, exp.Second,
                      exp.Quarter, exp.WeekOfYear, exp.DayOfWeek, exp.DayOfWeekIso, exp.DayOfYear,
                      exp.Extract, exp.TimeToStr)  # fmt: skip

# Athena's timestamp text: always milliseconds (timestamp(3)).
ATHENA_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%g"

# Joda-Time DateTimeFormat letters (as format_datetime uses them) → strftime, by run length.
# A letter or run length not listed here is refused rather than guessed.
JODA_TO_STRFTIME: dict[tuple[str, int], str] = {
    ("y", 4): "%Y", ("y", 2): "%y", ("Y", 4): "%Y", ("Y", 2): "%y",
    ("M", 1): "%-m", ("M", 2): "%m", ("M", 3): "%b", ("M", 4): "%B",
    ("d", 1): "%-d", ("d", 2): "%d",
    ("H", 1): "%-H", ("H", 2): "%H", ("h", 1): "%-I", ("h", 2): "%I",
    ("m", 1): "%-M", ("m", 2): "%M", ("s", 1): "%-S", ("s", 2): "%S",
    ("S", 3): "%g", ("S", 6): "%f",
    ("a", 1): "%p", ("E", 3): "%a", ("E", 4): "%A",
    ("D", 3): "%j",
}  # fmt: skip


def joda_to_strftime(pattern: str) -> str:
    """Translate a Joda-Time pattern (``yyyy-MM-dd HH:mm``) to strftime, or refuse it."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":  # quoted literal text; '' is a single quote
            end = pattern.find("'", i + 1)
            if end == -1:
                raise UnsupportedQuery(f"format_datetime pattern {pattern!r} has an unclosed quote")
            literal = pattern[i + 1 : end] or "'"
            out.append(literal.replace("%", "%%"))
            i = end + 1
        elif ch.isalpha():
            run = len(pattern) - i - len(pattern[i:].lstrip(ch))
            code = JODA_TO_STRFTIME.get((ch, run)) or JODA_TO_STRFTIME.get((ch, 4) if run > 4 else ("", 0))
            if code is None:
                raise UnsupportedQuery(
                    f"format_datetime pattern letter {ch * run!r} is not supported locally "
                    f"(supported: {', '.join(sorted({c * n for c, n in JODA_TO_STRFTIME}))})"
                )
            out.append(code)
            i += run
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def _type(node: exp.Expr) -> exp.DType | None:
    dtype = node.type
    return dtype.this if dtype is not None else None


def _is_decimal_literal(node: exp.Expr) -> bool:
    # Athena reads 1.5 as DECIMAL(2,1); 1.5e0 is a DOUBLE.
    return isinstance(node, exp.Literal) and not node.is_string and re.fullmatch(r"\d*\.\d*", node.this) is not None


_DECIMAL_LITERAL = "aiorch_decimal_literal"


def _mark_decimal_literals(tree: exp.Expr) -> exp.Expr:
    """Give Athena's decimal literals their DECIMAL type, so typing sees what Athena sees."""

    def mark(node: exp.Expr) -> exp.Expr:
        if _is_decimal_literal(node):
            digits = node.this.replace(".", "").lstrip("0") or "0"
            scale = len(node.this.split(".")[1])
            precision = max(len(digits), scale, 1)
            marked = exp.cast(node.copy(), exp.DataType.build(f"DECIMAL({precision}, {scale})"))
            marked.meta[_DECIMAL_LITERAL] = True
            return marked
        return node

    return tree.transform(mark)


def _refuse(message: str) -> UnsupportedQuery:
    return UnsupportedQuery(message)


def _parse(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except ParseError as exc:
        raise InvalidQuery(f"the query does not parse as Athena SQL: {exc}") from exc
    if len(statements) != 1:
        raise InvalidQuery(f"expected one query, got {len(statements)} statements")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise UnsupportedQuery("only queries (SELECT, WITH ... SELECT) are answered; the results are read-only")
    return tree


def _bind_table(tree: exp.Expr, schema: TableSchema) -> None:
    """Point every reference to the results table at the local view; refuse other tables."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if not name:  # a table function such as UNNEST
            continue
        if name == schema.table:
            table.set("db", None)
            table.set("catalog", None)
        elif name not in cte_names:
            raise InvalidQuery(
                f"unknown table {table.sql('athena')!r}: the analytics data is the table {schema.table!r}"
            )


def _check_division(node: exp.Div) -> exp.Expr:
    left, right = _type(node.left), _type(node.right)
    if exp.DType.DECIMAL in (left, right):
        raise _refuse(
            f"'{_athena_sql(node)}' divides a DECIMAL: Athena keeps the decimal scale (1.0 / 3 = 0.3) and "
            "DuckDB answers in double. Write the number as a double (1e0, CAST(x AS double)) to say which you mean."
        )
    if left in INTEGER_TYPES and right in INTEGER_TYPES:
        # Athena: integer division truncates toward zero and fails on zero; DuckDB's // does both.
        return exp.IntDiv(this=node.left.copy(), expression=node.right.copy())
    known = INTEGER_TYPES | FLOAT_TYPES | {exp.DType.NULL}
    if left not in known or right not in known:
        raise _refuse(
            f"cannot tell whether '{_athena_sql(node)}' is integer division (Athena truncates it); "
            "CAST the operands to bigint or double"
        )
    return node


# DuckDB macros the translated SQL may call; the local runner defines them on its connection.
# Weighted percentile as Athena documents it: "Integer-value weights can be thought of as a
# replication count for the value x": the first value whose running weight reaches p * total,
# i.e. the value at rank ceil(p * total) of the replicated data (as quantile_disc without weights).
DUCKDB_MACROS = (
    """
    CREATE MACRO athena_weighted_percentile(pairs, p) AS (
      SELECT CASE WHEN min(w) < 1 THEN error('approx_percentile: weights must be at least 1')
                  ELSE arg_min(v, running) FILTER (WHERE running >= p * total) END
      FROM (
        SELECT s.v AS v, s.w AS w,
               sum(s.w) OVER (ORDER BY s.v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
               sum(s.w) OVER () AS total
        FROM (SELECT unnest(pairs) AS s)
      )
    )
    """,
)


def _approx_percentile(node: exp.ApproxQuantile) -> exp.Expr:
    value, quantile, weight = node.this, node.args["quantile"], node.args.get("weight")
    # The accuracy argument only bounds the error; the local answer is exact, so it is met.
    if weight is None:
        # Exact: the value at rank ceil(p * n), within any error bound Athena documents.
        return exp.Anonymous(this="quantile_disc", expressions=[value.copy(), quantile.copy()])
    if isinstance(node.parent, (exp.Window, exp.Filter)) or isinstance(quantile, exp.Array):
        raise _refuse(
            "approx_percentile with a weight is answered locally only as a plain aggregate with one "
            "percentage: approx_percentile(x, w, 0.5)"
        )
    v, w, p = (e.sql("duckdb") for e in (value, weight, quantile))
    return sqlglot.parse_one(
        f"athena_weighted_percentile(list(struct_pack(v := {v}, w := {w})) "
        f"FILTER (WHERE ({v}) IS NOT NULL AND ({w}) IS NOT NULL), {p})",
        read="duckdb",
    )


def _format_datetime(node: exp.Anonymous) -> exp.Expr:
    if (
        len(node.expressions) != 2
        or not isinstance(node.expressions[1], exp.Literal)
        or not node.expressions[1].is_string
    ):
        raise _refuse(
            "format_datetime is answered locally only with a literal pattern: format_datetime(ts, 'yyyy-MM-dd')"
        )
    value, pattern = node.expressions
    fmt = exp.Literal.string(joda_to_strftime(pattern.this))
    return exp.Anonymous(this="strftime", expressions=[value.copy(), fmt])


def _to_iso8601(node: exp.Anonymous) -> exp.Expr:
    if len(node.expressions) != 1:
        raise InvalidQuery("to_iso8601 takes one argument")
    value = node.expressions[0]
    kind = _type(value)
    if kind == DATE_TYPE:
        fmt = "%Y-%m-%d"
    elif kind == exp.DType.TIMESTAMP:
        fmt = "%Y-%m-%dT%H:%M:%S.%g"
    else:
        raise _refuse(
            f"to_iso8601 of a {value.type.sql() if value.type else 'value of unknown type'} is not answered "
            "locally; it is supported for date and timestamp (without time zone)"
        )
    return exp.Anonymous(this="strftime", expressions=[value.copy(), exp.Literal.string(fmt)])


def _map_agg(node: exp.Anonymous) -> exp.Expr:
    if len(node.expressions) != 2:
        raise InvalidQuery("map_agg takes two arguments: map_agg(key, value)")
    key, value = (e.sql("duckdb") for e in node.expressions)
    # Rows with a NULL key are left out (a map cannot hold one); a repeated key fails with
    # DuckDB's "Map keys must be unique" instead of keeping an arbitrary value.
    return sqlglot.parse_one(
        f"map_from_entries(list(struct_pack(k := {key}, v := {value})) FILTER (WHERE ({key}) IS NOT NULL))",
        read="duckdb",
    )


def _date_diff(node: exp.DateDiff) -> exp.Expr:
    unit = node.args.get("unit")
    unit_name = unit.name.lower() if unit is not None else "day"
    # Athena: whole units from expression to this; DuckDB's date_sub counts the same.
    return exp.Anonymous(
        this="date_sub", expressions=[exp.Literal.string(unit_name), node.expression.copy(), node.this.copy()]
    )


def _sequence(node: exp.GenerateSeries) -> exp.Expr:
    start, end, step = node.args["start"], node.args["end"], node.args.get("step")
    start_sql, end_sql = start.sql("duckdb"), end.sql("duckdb")
    kinds = {_type(start), _type(end)}
    if kinds <= INTEGER_TYPES:
        step_sql = step.sql("duckdb") if step is not None else f"CASE WHEN {start_sql} <= {end_sql} THEN 1 ELSE -1 END"
        return sqlglot.parse_one(f"generate_series({start_sql}, {end_sql}, {step_sql})", read="duckdb")
    if kinds == {DATE_TYPE}:
        step_sql = (
            step.sql("duckdb")
            if step is not None
            else f"CASE WHEN {start_sql} <= {end_sql} THEN INTERVAL 1 DAY ELSE INTERVAL -1 DAY END"
        )
        return sqlglot.parse_one(
            f"list_transform(generate_series(CAST({start_sql} AS TIMESTAMP), CAST({end_sql} AS TIMESTAMP), "
            f"{step_sql}), d -> CAST(d AS DATE))",
            read="duckdb",
        )
    if kinds <= TIMESTAMP_TYPES and step is not None:
        return node
    raise _refuse(f"sequence over {', '.join(sorted(str(k) for k in kinds))} is not answered locally")


def _at_time_zone(node: exp.AtTimeZone) -> exp.Expr:
    consumer = node.parent
    while isinstance(consumer, exp.Paren):
        consumer = consumer.parent
    is_reader = isinstance(consumer, WALL_CLOCK_READERS) or (
        isinstance(consumer, exp.Anonymous) and consumer.name.lower() == "format_datetime"
    )
    if isinstance(consumer, exp.Cast) and consumer.to.this == DATE_TYPE:
        is_reader = True
    if not is_reader or _type(node.this) not in TIMESTAMP_TYPES:
        raise _refuse(
            f"'{_athena_sql(node.this)} AT TIME ZONE {_athena_sql(node.args['zone'])}' is a timestamp with time "
            "zone in Athena, which DuckDB cannot hold; "
            "locally it is answered only inside a function that reads its wall clock: "
            "date(), year(), month(), day(), hour(), minute(), second(), day_of_week(), "
            "format_datetime(), date_format(), extract()"
        )
    # Athena's session zone is UTC: read the timestamp as UTC, show the wall clock in the zone.
    instant = exp.cast(node.this.copy(), exp.DataType.build("TIMESTAMPTZ"))
    return exp.Anonymous(this="timezone", expressions=[node.args["zone"].copy(), instant])


def _parse_integer_strictly(node: exp.Cast) -> exp.Expr:
    """Athena parses text with Java's Long.parseLong: an optional sign and digits, nothing else
    ('1.5' and ' 7' fail); DuckDB's cast would answer 2 and 7."""
    text, target = node.this.sql("duckdb"), node.to.sql("duckdb")
    is_integer = f"regexp_full_match({text}, '[+-]?[0-9]+')"
    if isinstance(node, exp.TryCast):
        template = f"CASE WHEN {is_integer} THEN TRY_CAST({text} AS {target}) END"
    else:
        failure = f"error('Cannot cast ''' || {text} || ''' to {target}')"
        template = f"CASE WHEN {text} IS NULL OR {is_integer} THEN CAST({text} AS {target}) ELSE {failure} END"
    return sqlglot.parse_one(template, read="duckdb")


def _cast(node: exp.Cast) -> exp.Expr:
    target, source = node.to.this, _type(node.this)
    if target in INTEGER_TYPES and source in FLOAT_TYPES:
        # Athena rounds half away from zero (2.5 -> 3, -2.5 -> -3); DuckDB's cast rounds half to even.
        rounded = exp.Anonymous(this="round", expressions=[node.this.copy()])
        return node.__class__(this=rounded, to=node.to.copy())
    if target in INTEGER_TYPES and source in (exp.DType.VARCHAR, exp.DType.TEXT):
        return _parse_integer_strictly(node)
    if target not in (exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.CHAR):
        return node
    if source in FLOAT_TYPES:
        raise _refuse(
            f"'{_athena_sql(node)}' prints a double in scientific notation in Athena (1.5E0); "
            "use format('%.2f', x) or round() and keep it a number"
        )
    if source == exp.DType.TIMESTAMP:
        return exp.Anonymous(
            this="strftime", expressions=[node.this.copy(), exp.Literal.string(ATHENA_TIMESTAMP_FORMAT)]
        )
    return node


# A Java format specifier (Athena's format()) that C's printf (DuckDB) reads the same way;
# anything else (%,d grouping, %1$s positions, %tY dates, %b) is refused.
_SPECIFIER = re.compile(r"%(?:%|[^a-zA-Z%]*[a-zA-Z])")
_PRINTF_SAFE = re.compile(r"%[-+ 0#]*\d*(?:\.\d+)?[sdfeEgGxXo]")
# Values whose Java toString() and DuckDB's CAST(... AS VARCHAR) agree, for %s.
_SAME_TEXT = INTEGER_TYPES | {exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.BOOLEAN, DATE_TYPE}


def _format(node: exp.Format) -> exp.Expr:
    pattern = node.this
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise _refuse("format() is answered locally only with a literal format string")
    specifiers = [m for m in _SPECIFIER.findall(pattern.this) if m != "%%"]
    args = [e.copy() for e in node.expressions]
    for spec in specifiers:
        if not _PRINTF_SAFE.fullmatch(spec):
            raise _refuse(
                f"format() specifier {spec!r} follows Java's rules in Athena and has no sure DuckDB "
                "equivalent; use %s, %d, %f, %e, %g, %x, %o with flags, width and precision"
            )
    if len(specifiers) != len(args):
        raise InvalidQuery(
            f"format({pattern.sql('athena')}, ...) has {len(specifiers)} specifiers for {len(args)} values"
        )
    for i, (spec, arg) in enumerate(zip(specifiers, node.expressions, strict=True)):
        if spec.endswith("s"):
            if _type(arg) not in _SAME_TEXT:
                raise _refuse(
                    f"format() prints {_athena_sql(arg)} with %s by Java's rules (doubles as 1.0E7, timestamps "
                    "as 2020-01-01T00:00); format numbers with %d / %.2f and timestamps with format_datetime"
                )
            args[i] = exp.cast(args[i], exp.DataType.build("VARCHAR"))
    return exp.Anonymous(this="printf", expressions=[pattern.copy(), *args])


DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _unit(node: exp.Expr | None) -> str:
    unit = node.args.get("unit") if node is not None else None
    return unit.name.upper() if isinstance(unit, exp.Expr) else ""


def _stays_a_date(node: exp.Expr) -> bool:
    """Date arithmetic in whole days or more is a DATE in Athena; DuckDB makes it a TIMESTAMP."""
    if isinstance(node, (exp.Add, exp.Sub)):
        left, right = node.left, node.right
        date_side, other = (left, right) if _type(left) == DATE_TYPE else (right, left)
        return _type(date_side) == DATE_TYPE and isinstance(other, exp.Interval) and _unit(other) in DATE_UNITS
    if isinstance(node, (exp.DateAdd, exp.DateSub, exp.DateTrunc, exp.TimestampTrunc)):
        return _type(node.this) == DATE_TYPE and (_unit(node) or "DAY") in DATE_UNITS
    return False


def _rewrite(node: exp.Expr) -> exp.Expr:
    if _stays_a_date(node):
        return exp.cast(node.copy(), exp.DataType.build("DATE"))
    if isinstance(node, exp.AtTimeZone):
        return _at_time_zone(node)
    if isinstance(node, exp.Div):
        return _check_division(node)
    if isinstance(node, exp.ApproxQuantile):
        return _approx_percentile(node)
    if isinstance(node, exp.ApproxDistinct):
        return exp.Count(this=exp.Distinct(expressions=[node.this.copy()]))
    if isinstance(node, exp.DateDiff):
        return _date_diff(node)
    if isinstance(node, exp.GenerateSeries):
        return _sequence(node)
    if isinstance(node, exp.Cast):
        return _cast(node)
    if isinstance(node, exp.Format):
        return _format(node)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "format_datetime":
            return _format_datetime(node)
        if name == "to_iso8601":
            return _to_iso8601(node)
        if name == "map_agg":
            return _map_agg(node)
        raise _refuse(f"function {node.name}() is not known to the local translator, so its meaning cannot be checked")
    return node


def _output_names(tree: exp.Expr) -> list[str] | None:
    """The column names Athena gives the answer: an alias, a plain column's name, else _col<i>.

    None when a * hides the list (the expanded names are then the table's column names).
    """
    while isinstance(tree, exp.SetOperation):  # UNION etc. take the first query's names
        tree = tree.this
    if not isinstance(tree, exp.Select) or any(isinstance(e, exp.Star) or e.is_star for e in tree.expressions):
        return None
    names = []
    for i, projection in enumerate(tree.expressions):
        if isinstance(projection, exp.Alias):
            names.append(projection.alias)
        elif isinstance(projection, exp.Column):
            names.append(projection.name)
        else:
            names.append(f"_col{i}")
    return names


def _athena_sql(node: exp.Expr) -> str:
    """The expression as the user wrote it (without our DECIMAL marks), for messages."""

    def unmark(n: exp.Expr) -> exp.Expr:
        return n.this.copy() if isinstance(n, exp.Cast) and n.meta.get(_DECIMAL_LITERAL) else n

    return node.copy().transform(unmark).sql("athena")


@dataclass(frozen=True)
class Translation:
    duckdb_sql: str
    column_names: list[str] | None  # Athena's names for the answer's columns; None: DuckDB's are right


def translate(sql: str, schema: TableSchema) -> str:
    """DuckDB SQL with the meaning ``sql`` has in Athena, or ``AnalyticsQueryError`` saying why not."""
    return translate_query(sql, schema).duckdb_sql


def translate_query(sql: str, schema: TableSchema) -> Translation:
    """``translate``, plus the output column names Athena would give."""
    tree = _parse(sql)
    names = _output_names(tree)
    _bind_table(tree, schema)
    tree = _mark_decimal_literals(tree)
    mapping: dict[str, object] = {schema.table: schema.sql_types()}
    try:
        tree = qualify(tree, schema=mapping, dialect="athena", validate_qualify_columns=True, quote_identifiers=True)
    except OptimizeError as exc:
        raise InvalidQuery(f"{exc} (the table {schema.table!r} has: {', '.join(schema.sql_types())})") from exc
    tree = annotate_types(tree, schema=mapping, dialect="athena")
    # Children before parents (reversed pre-order), so a parent sees its rewritten children
    # and the Athena types they had (and AT TIME ZONE sees its consumer as the user wrote it).
    for node in reversed(list(tree.dfs())):
        if not node.meta.get(_OURS):
            new = _rewrite(node)
            if new is not node:
                _replace(node, new)
    return Translation(tree.sql(dialect="duckdb"), names)


_OURS = "aiorch_rewritten"


def _replace(old: exp.Expr, new: exp.Expr) -> None:
    """Swap in a rewrite, keeping the Athena type of the expression it replaces."""
    if new.type is None or new.type.this == exp.DType.UNKNOWN:
        new.type = old.type
    for node in new.walk():
        node.meta[_OURS] = True
    old.replace(new)
