"""The shop test app with deterministic data inserted straight into its tables, and a Python oracle of it.

Every expected figure in the report tests is computed here in plain Python from the same generated rows (never
copied from a run), so a test fails when the SQL a report compiles to counts anything differently.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import insert, select

from engine.identity import sync_org
from engine.permissions import Principal
from engine.tables import departments, users
from tests.conftest import Api, make_platform

SHOP = Path(__file__).parent / "apps" / "shop"
ZONE = timezone(timedelta(hours=8))


@dataclass
class ShopData:
    users: dict[str, int]
    departments: dict[str, int]
    areas: list[dict[str, Any]] = field(default_factory=list)
    stores: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def store(self, store_id: int) -> dict[str, Any]:
        return next(s for s in self.stores if s["id"] == store_id)

    def area(self, area_id: int) -> dict[str, Any]:
        return next(a for a in self.areas if a["id"] == area_id)


def principal(platform: Any, username: str) -> Principal:
    from engine.identity import load_principal

    with platform.db.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one()
        return load_principal(conn, user_id)


def fill(platform: Any, rng: random.Random, n_sales: int = 240) -> ShopData:
    live = platform.apps["shop"]
    t = live.tables
    now = platform.clock.now()
    with platform.db.begin() as conn:
        user_ids = dict(conn.execute(select(users.c.username, users.c.id)).all())
        dept_ids = dict(conn.execute(select(departments.c.key, departments.c.id)).all())
        data = ShopData(user_ids, dept_ids)
        sys = {"row_version": 1, "def_version": live.version, "created_at": now, "updated_at": now}
        for i, (name, province) in enumerate([("滇中", "530000"), ("珠三角", "440000"), ("京畿", "110000")], 1):
            row = {"id": i, "name": name, "province": province}
            conn.execute(insert(t["f_shop__area"]).values(**row, **sys))
            data.areas.append(row)
        cities = ["昆明", "广州", "深圳", "北京", "昆明"]
        for i in range(1, 6):
            row = {"id": i, "name": f"店{i}", "area": [1, 2, 2, 3, 1][i - 1], "city": cities[i - 1],
                   "location": ["530102", "440104", "440304", "110101", "530103"][i - 1],
                   "manager": user_ids["max"], "opened_on": date(2024, i, 1)}
            conn.execute(insert(t["f_shop__store"]).values(**row, **sys))
            data.stores.append(row)
        start = datetime(2025, 1, 1, tzinfo=ZONE)
        span = (datetime(2026, 3, 2, 23, 0, tzinfo=ZONE) - start).total_seconds()
        line_id = 1
        sale_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for i in range(1, n_sales + 1):
            seller = rng.choice(["nick", "sue", "max", None])
            sold_at = (start + timedelta(seconds=rng.random() * span)).replace(microsecond=0)
            if i <= 6:  # edge cases: just before and after local midnight at month ends
                sold_at = [datetime(2026, 2, 28, 23, 59, tzinfo=ZONE), datetime(2026, 3, 1, 0, 1, tzinfo=ZONE),
                           datetime(2025, 12, 31, 23, 30, tzinfo=ZONE), datetime(2026, 1, 1, 0, 30, tzinfo=ZONE),
                           datetime(2026, 3, 2, 8, 0, tzinfo=ZONE), datetime(2025, 3, 1, 7, 59, tzinfo=ZONE)][i - 1]
            amount = Decimal(rng.choice([rng.randint(1, 99), rng.randint(100, 499), rng.randint(500, 3000)])) + \
                Decimal(rng.randint(0, 99)) / 100
            status = rng.choices(["open", "paid", "refunded"], [2, 6, 1])[0]
            row = {
                "id": i, "number": f"S{i:05d}", "store": rng.choice([1, 1, 1, 2, 2, 3, 4, 5]),
                "sold_at": sold_at.astimezone(timezone.utc), "sold_on": sold_at.date(), "amount": amount,
                "discount": Decimal(rng.randint(0, 2000)) / 100 if status != "refunded" else Decimal(0),
                "quantity": rng.randint(1, 9), "channel": rng.choice(["web", "shop", "shop", "phone", None]),
                "status": status, "seller": user_ids[seller] if seller else None,
                "team": dept_ids["north"] if seller in ("nick", "max") else dept_ids["south"] if seller else None,
                "paid": status == "paid", "note": rng.choice(["", "=1+2", "vip", None]),
            }
            owner = user_ids[seller] if seller else None
            dept = row["team"]
            row |= {"owner_id": owner, "department_id": dept}
            sale_rows.append(row | sys | {"created_by": owner})
            data.sales.append(row)
            for j in range(rng.randint(0, 3)):
                line = {"id": line_id, "parent_id": i, "row_index": j, "product": rng.choice(["茶", "咖啡", "果汁"]),
                        "qty": rng.randint(1, 5), "price": Decimal(rng.randint(100, 5000)) / 100}
                line_rows.append(line)
                data.lines.append(line)
                line_id += 1
        conn.execute(insert(t["f_shop__sale"]), sale_rows)
        conn.execute(insert(t["f_shop__sale__lines"]), line_rows)
    return data


def _sequences(platform: Any) -> None:
    """Rows were inserted with their ids: move PostgreSQL's id sequences past them."""
    if platform.db.dialect.name != "postgresql":
        return
    with platform.db.begin() as conn:
        for name in ("f_shop__area", "f_shop__store", "f_shop__sale", "f_shop__sale__lines"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                                 f"(SELECT max(id) FROM \"{name}\"))")


def _build(database: tuple[str, object], tmp_path: Path, clock: Any) -> tuple[Any, ShopData]:
    platform = make_platform(database, tmp_path, clock, apps_dir=SHOP.parent)
    platform.publish_folder(SHOP, "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["shop"].spec.org, clock.now(), with_users=True)
    data = fill(platform, random.Random(20260302))
    _sequences(platform)
    return platform, data


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ShopData]]:
    """The shop app with its data, shared by the read-only tests of a module (one database per backend)."""
    from engine.clock import FrozenClock
    from engine.db import make_engine
    from tests.conftest import PG_URL, _require_pg

    tmp = tmp_path_factory.mktemp(f"shop-{request.param}")
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'test.db'}"
        engine = make_engine(url)
        yield _build((url, engine), tmp, clock)
        engine.dispose()
        return
    _require_pg()
    import uuid

    from sqlalchemy import create_engine, text

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    try:
        yield _build((PG_URL, engine), tmp, clock)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_shop(database: tuple[str, object], tmp_path: Path, clock: Any) -> tuple[Any, ShopData]:
    """A shop of its own, for a test that writes."""
    return _build(database, tmp_path, clock)


@pytest.fixture(scope="module")
def shop_api(shop: tuple[Any, ShopData]) -> Api:
    return Api(shop[0])


@pytest.fixture
def backend_of(shop: tuple[Any, ShopData]) -> str:
    return str(shop[0].db.dialect.name)
