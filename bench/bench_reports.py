"""Report engine benchmark: a six-widget dashboard over N generated sales (1,000,000; 20,000 in quick mode).

Each widget is one report run through the report service (parameters checked, compiled to one SQL query,
executed, rows presented; the plotly figure left out) and timed against a hand-written SQL query answering the same
question on the same tables through the same driver, on SQLite and on PostgreSQL (target: within 1.3x). For
reference, the same question is also asked of DuckDB over the same data exported to Parquet (a column store; no
target). Times are the best of several alternating runs, in microseconds.

    .venv/bin/python bench/run.py --only reports [--quick]
    LOOMWORK_BENCH_REPORT_ROWS=500000 .venv/bin/python bench/run.py --only reports   # another N (shown in the table)
    .venv/bin/python bench/bench_reports.py --explain by_channel [ROWS]   # both plans on PostgreSQL, EXPLAIN ANALYZE
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("LOOMWORK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET = 1.3

APP = {
    "app.yaml": "format: 1\nkey: bench\nlabel: Bench\ntimezone: Asia/Shanghai\n",
    "org.yaml": ("roles:\n  - {key: staff, label: Staff}\ndepartments:\n  - {key: d1, label: D1}\n  - {key: d2, label: D2}\n"
                 "users:\n" + "".join(f"  - {{username: u{i}, name: U{i}, department: d{i % 2 + 1}, roles: [staff]}}\n"
                                      for i in range(12))),
    "forms/area.yaml": ("key: area\nlabel: Area\ntitle_field: name\nfields:\n  - {key: name, type: text, required: true}\n"
                        "  - {key: province, type: region, levels: province, required: true}\n"
                        "permissions:\n  staff: {read: all}\n"),
    "forms/store.yaml": ("key: store\nlabel: Store\ntitle_field: name\nfields:\n  - {key: name, type: text, required: true}\n"
                         "  - {key: area, type: relation, to: area, required: true}\npermissions:\n  staff: {read: all}\n"),
    "forms/sale.yaml": ("key: sale\nlabel: Sale\nfields:\n  - {key: store, type: relation, to: store, required: true}\n"
                        "  - {key: sold_at, type: datetime, required: true}\n"
                        "  - {key: amount, type: money, min: 1, max: 100000, required: true}\n"
                        "  - {key: channel, type: select, options: [web, shop, phone, partner], required: true}\n"
                        "  - {key: status, type: select, options: [open, paid, refunded, cancelled], required: true}\n"
                        "permissions:\n  staff: {read: all}\n"),
    "reports/by_channel.yaml": ("key: by_channel\ndataset: sale\ndimensions: [channel]\n"
                                "measures: [{agg: count}, {agg: sum, field: amount}]\nchart: bar\n"),
    "reports/monthly.yaml": ("key: monthly\ndataset: sale\ndimensions: [{field: sold_at, bucket: month}]\n"
                             "measures: [{agg: sum, field: amount}]\nchart: line\n"),
    "reports/top_stores.yaml": ("key: top_stores\ndataset: sale\ndimensions: [store]\nmeasures: [{agg: sum, field: amount}]\n"
                                "sort: [-sum_amount]\nlimit: 10\nchart: leaderboard\n"),
    "reports/by_province.yaml": ("key: by_province\ndataset: sale\ndimensions: [{field: store.area.province, level: province}]\n"
                                 "measures: [{agg: sum, field: amount}]\nchart: map\n"),
    "reports/month_card.yaml": ("key: month_card\ndataset: sale\nfilters: [{field: sold_at, range: this_month}]\n"
                                "measures: [{agg: sum, field: amount, compare: previous_period}]\nchart: number\n"),
    "reports/status_channel.yaml": ("key: status_channel\ndataset: sale\ndimensions: [status, channel]\n"
                                    "measures: [{agg: count}]\nchart: pivot\n"),
    "reports/board.yaml": ("kind: dashboard\nkey: board\nwidgets:\n" + "".join(
        f"  - {{report: {k}}}\n" for k in ("by_channel", "monthly", "top_stores", "by_province", "month_card",
                                          "status_channel"))),
}

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)
# March 2026 and February 2026 in Shanghai, as UTC instants
MARCH = ("2026-02-28 16:00:00", "2026-03-31 16:00:00")
FEB = ("2026-01-31 16:00:00", "2026-02-28 16:00:00")


def hand_written(dialect: str) -> dict[str, str]:
    """The same six questions, written by hand for each database."""
    month = ("strftime('%Y-%m', sold_at, '+480 minutes')" if dialect == "sqlite" else
             "to_char(date_trunc('month', sold_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM')")
    province = "substr(a.province, 1, 2) || '0000'"
    ts = "" if dialect == "sqlite" else "::timestamptz"
    return {
        "by_channel": "SELECT channel, count(*), sum(amount) FROM f_bench__sale GROUP BY channel ORDER BY channel",
        "monthly": f"SELECT {month} AS m, sum(amount) FROM f_bench__sale GROUP BY m ORDER BY m",
        "top_stores": "SELECT s.store, st.name, sum(s.amount) AS t FROM f_bench__sale s LEFT JOIN f_bench__store st "
                      "ON st.id = s.store GROUP BY s.store, st.name ORDER BY t DESC LIMIT 10",
        "by_province": f"SELECT {province} AS p, sum(s.amount) FROM f_bench__sale s LEFT JOIN f_bench__store st "
                       f"ON st.id = s.store LEFT JOIN f_bench__area a ON a.id = st.area GROUP BY p ORDER BY p",
        "month_card": f"SELECT sum(CASE WHEN sold_at >= '{MARCH[0]}'{ts} AND sold_at < '{MARCH[1]}'{ts} THEN amount END), "
                      f"sum(CASE WHEN sold_at >= '{FEB[0]}'{ts} AND sold_at < '{FEB[1]}'{ts} THEN amount END) "
                      f"FROM f_bench__sale WHERE sold_at >= '{FEB[0]}'{ts} AND sold_at < '{MARCH[1]}'{ts}",
        "status_channel": "SELECT status, channel, count(*) FROM f_bench__sale GROUP BY status, channel "
                          "ORDER BY status, channel",
    }


DUCKDB = {
    "by_channel": "SELECT channel, count(*), sum(amount) FROM sale GROUP BY channel ORDER BY channel",
    "monthly": "SELECT strftime(sold_at AT TIME ZONE 'Asia/Shanghai', '%Y-%m') AS m, sum(amount) FROM sale GROUP BY m ORDER BY m",
    "top_stores": "SELECT s.store, st.name, sum(s.amount) AS t FROM sale s LEFT JOIN store st ON st.id = s.store "
                  "GROUP BY s.store, st.name ORDER BY t DESC LIMIT 10",
    "by_province": "SELECT substr(a.province, 1, 2) || '0000' AS p, sum(s.amount) FROM sale s LEFT JOIN store st "
                   "ON st.id = s.store LEFT JOIN area a ON a.id = st.area GROUP BY p ORDER BY p",
    "month_card": f"SELECT sum(CASE WHEN sold_at >= TIMESTAMPTZ '{MARCH[0]}+00' AND sold_at < TIMESTAMPTZ '{MARCH[1]}+00' "
                  f"THEN amount END), sum(CASE WHEN sold_at >= TIMESTAMPTZ '{FEB[0]}+00' AND sold_at < "
                  f"TIMESTAMPTZ '{FEB[1]}+00' THEN amount END) FROM sale WHERE sold_at >= TIMESTAMPTZ '{FEB[0]}+00' "
                  f"AND sold_at < TIMESTAMPTZ '{MARCH[1]}+00'",
    "status_channel": "SELECT status, channel, count(*) FROM sale GROUP BY status, channel ORDER BY status, channel",
}


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e6


def build(url: str, engine: Any, var: Path, rows: int) -> Any:
    from engine.clock import FrozenClock
    from engine.identity import sync_org
    from engine.platform import Platform
    from engine.settings import Settings
    from forms_engine.fake import generate

    settings = Settings.from_env({"database_url": url, "var_dir": str(var), "attachments_dir": str(var / "files"),
                                  "apps_dir": str(var / "apps"), "secret_key": "bench"})
    platform = Platform(settings, clock=FrozenClock(NOW), engine=engine)
    platform.upgrade_db()
    platform.publish_files(APP, "bench", "bench")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["bench"].spec.org, NOW, with_users=True)
    generate(platform, "bench", "area", 8, seed=1)
    generate(platform, "bench", "store", 60, seed=2)
    generate(platform, "bench", "sale", rows, seed=3, days=730, batch=20_000)
    with platform.db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return platform


def measure(platform: Any, label: str, repeat: int) -> list[dict[str, Any]]:
    from engine.permissions import SYSTEM

    service = platform.services["reports"]
    sql = hand_written(platform.db.dialect.name)
    out = []
    with platform.db.connect() as conn:
        for key, query in sql.items():
            def ours() -> Any:
                return service.run("bench", key, SYSTEM, figure=False, conn=conn)

            def theirs() -> Any:
                return conn.exec_driver_sql(query).all()

            ours()
            theirs()  # warm caches
            a, b = [], []
            for _ in range(repeat):  # alternate, so both see the same machine load
                a.append(best(ours, 1))
                b.append(best(theirs, 1))
            ours_us, base_us = min(a), min(b)
            ratio = ours_us / base_us
            out.append({"name": f"{label}: {key}", "ours_us": ours_us, "baseline_name": f"hand-written SQL ({label})",
                        "baseline_us": base_us, "ratio": ratio, "target": f"<= {TARGET}x", "met": ratio <= TARGET})
    return out


def duckdb_rows(platform: Any, var: Path, repeat: int, ours: dict[str, float]) -> list[dict[str, Any]]:
    try:
        import duckdb
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # the bench extras are not installed
        return []
    from sqlalchemy import select

    live = platform.apps["bench"]
    paths = {}
    with platform.db.connect() as conn:
        for name, table in (("sale", "f_bench__sale"), ("store", "f_bench__store"), ("area", "f_bench__area")):
            t = live.tables[table]
            cols = {"sale": ["id", "store", "sold_at", "amount", "channel", "status"], "store": ["id", "name", "area"],
                    "area": ["id", "name", "province"]}[name]
            rows = conn.execute(select(*[t.c[c] for c in cols])).all()
            data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
            if name == "sale":
                data["amount"] = [float(v) for v in data["amount"]]
                data["sold_at"] = pa.array(data["sold_at"], type=pa.timestamp("us", tz="UTC"))
            paths[name] = var / f"{name}.parquet"
            pq.write_table(pa.table(data), paths[name])
    db = duckdb.connect()
    for name, path in paths.items():
        db.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    out = []
    for key, query in DUCKDB.items():
        db.execute(query).fetchall()
        duck = best(lambda q=query: db.execute(q).fetchall(), repeat)
        out.append({"name": f"SQLite: {key} vs DuckDB on Parquet", "ours_us": ours[key], "baseline_name":
                    "DuckDB over Parquet (reference)", "baseline_us": duck, "ratio": ours[key] / duck,
                    "target": "reference", "met": None})
    db.close()
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    from sqlalchemy import create_engine, text

    from engine.db import make_engine

    rows = 20_000 if quick else 1_000_000
    if os.environ.get("LOOMWORK_BENCH_REPORT_ROWS", "").isdigit():  # a smaller full run on a slow machine
        rows = int(os.environ["LOOMWORK_BENCH_REPORT_ROWS"])
    repeat = 5
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        url = f"sqlite:///{var / 'bench.db'}"
        engine = make_engine(url)
        platform = build(url, engine, var, rows)
        sqlite_rows = measure(platform, f"SQLite {rows:,} rows", repeat)
        out += sqlite_rows
        out += duckdb_rows(platform, var, repeat, {r["name"].split(": ")[1]: r["ours_us"] for r in sqlite_rows})
        engine.dispose()
        try:
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
            with admin.connect() as conn:
                conn.execute(text("select 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means PostgreSQL is absent
            out.append({"name": f"PostgreSQL: not measured ({type(exc).__name__})", "ours_us": None,
                        "baseline_name": "", "baseline_us": None, "ratio": None, "target": "", "met": None})
            return out
        schema = "bench_" + uuid.uuid4().hex[:8]
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        pg = make_engine(PG_URL, schema=schema)
        try:
            platform = build(PG_URL, pg, var / "pg", rows)
            out += measure(platform, f"PostgreSQL {rows:,} rows", repeat)
        finally:
            pg.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return out


def explain(key: str, rows: int) -> None:
    """Print the report service's statement for ``key`` and the hand-written one, each with its PostgreSQL plan."""
    from sqlalchemy import create_engine, event, text

    from engine.db import make_engine
    from engine.permissions import SYSTEM

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    schema = "bench_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    pg = make_engine(PG_URL, schema=schema)
    seen: list[tuple[str, Any]] = []
    event.listen(pg, "before_cursor_execute", lambda _c, _cur, stmt, params, _ctx, _many: seen.append((stmt, params)))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            platform = build(PG_URL, pg, Path(tmp), rows)
            with platform.db.connect() as conn:
                seen.clear()
                platform.services["reports"].run("bench", key, SYSTEM, figure=False, conn=conn)
                ours = [s for s in seen if "f_bench__sale" in s[0]][-1]
                cursor = conn.connection.dbapi_connection.cursor()
                both = {"report service": ours, "hand-written": (hand_written("postgresql")[key], None)}
                plans: dict[str, str] = {}
                times: dict[str, list[float]] = {title: [] for title in both}
                for _ in range(7):  # alternating, so both see the same machine; the plan of the last run is shown
                    for title, (stmt, params) in both.items():
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params)
                        lines = [r[0] for r in cursor.fetchall()]
                        plans[title] = "\n".join(lines)
                        times[title].append(float(lines[-1].split(":")[1].split()[0]))
                for title, (stmt, _params) in both.items():
                    ordered = sorted(times[title])
                    print(f"-- {title}: execution {ordered[0]:.1f} ms best, {ordered[3]:.1f} ms median of 7\n{stmt}\n"
                          f"{plans[title]}\n")
    finally:
        pg.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    if "--explain" in sys.argv:
        rest = sys.argv[sys.argv.index("--explain") + 1:]
        explain(rest[0], int(rest[1]) if len(rest) > 1 else 100_000)
        sys.exit(0)
    for row in run(quick="--quick" in sys.argv):
        print(row)
