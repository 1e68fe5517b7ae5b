"""Realistic generated records for any form, from its definition alone: ``loomwork fake APP FORM --rows N``.

Every field type gets plausible values: names, cities and sentences; numbers and money with skewed (log-normal)
distributions inside the field's min/max; dates and times spread over a period, denser towards its end and on
working hours; options with a long tail (Zipf weights); people and departments from the organisation; relations
to existing records of the target form (a few popular ones get most of the links); sub-table rows; and identity
numbers, credit codes, bank cards, phones and regions that pass their checksums. Each generated submission then goes
through the form's own checks (types, defaults, formulas, conditions, validations, as a save would); a record
that fails them is generated again, so what is stored is what a user could have saved.

Records are inserted in bulk (``executemany`` in batches, one transaction per batch) for speed: no audit entry
and no record event is written for them, so no flow starts and no automation runs. Related-record rollups are
left for the next save of the target. File fields stay empty.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from engine.errors import BadRequest, NotFound
from engine.tables import departments, serial_counters, user_roles, users

from . import validate
from .spec import FieldSpec, FormSpec
from .storage import child_table_name, table_name
from .validators import regions as region_data
from .validators.cards import luhn_check_digit
from .validators.identity import CREDIT_CODE_CHARSET, credit_code_check_char, idcard_check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国志文斌宇浩然欣怡子涵梓轩雨桐思远"
WORDS = ("项目 计划 团队 合同 交付 质量 服务 跟进 确认 采购 库存 物流 设备 维护 培训 评估 方案 预算 协调 安排 "
         "需求 进度 检查 回访 资料 审核 反馈 更新 优化 联系").split()
COMPANY_WORDS = "宏达 恒信 鑫源 华泰 盛世 瑞丰 长青 金桥 天成 博远 中和 泰康 润发 嘉禾 永安 新程".split()
COMPANY_KINDS = ("商贸有限公司", "科技有限公司", "实业有限公司", "农业合作社", "建材有限公司", "餐饮管理有限公司")
STREETS = "人民路 北京路 环城路 建设路 东风路 滇池路 青年路 学府路 金碧路 正义路".split()
EMAIL_HOSTS = ("example.com", "example.org", "mail.example.net")
FILE_TYPES = ("attachment", "image", "signature")
MAX_ATTEMPTS = 20


@dataclass
class FakeContext:
    """What the generator may point at and when records happen."""

    start: date
    end: date
    zone: ZoneInfo
    users: list[tuple[int, int | None]]  # (user id, department id)
    departments: list[int]
    related: dict[str, list[int]] = field(default_factory=dict)  # form key → existing record ids
    related_rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    taken: dict[str, set[Any]] = field(default_factory=dict)  # unique field → values in use
    picks: dict[str, list[int]] = field(default_factory=dict)  # relation field → the records its ``where`` allows
    fill: tuple[tuple[str, Any], ...] = ()  # (field, compiled value spec) from the demo ``values``, in order
    each: tuple[str, Any] | None = None  # (relation field, compiled count over its target) from the demo ``each``
    regions: Mapping[str, float] = field(default_factory=dict)  # region code prefix → weight (empty: anywhere)
    role_members: dict[str, list[int]] = field(default_factory=dict)  # role → its active users' ids


class Faker:
    """Values for one form. ``submission()`` gives one record as a client would send it."""

    def __init__(self, form: FormSpec, ctx: FakeContext, rng: random.Random) -> None:
        self.form, self.ctx, self.rng = form, ctx, rng
        self.counter = 0
        self._paths = _region_paths()
        self._cities = sorted({path[1] for path in self._paths}, key=lambda r: r.code)
        self._areas: list[tuple[list[tuple[Any, Any, Any]], float]] = []  # (paths in an area, weight)
        for code, weight in ctx.regions.items():
            prefix = code.rstrip("0") if len(code) == 6 else code
            prefix = prefix + "0" * (len(prefix) % 2)  # 530000 → 53, 530100 → 5301, 530102 → 530102
            paths = [p for p in self._paths if p[2].code.startswith(prefix)]
            if not paths:
                raise BadRequest(f"demo regions: no district of the region data lies in '{code}'")
            self._areas.append((paths, float(weight)))
        self.home = self._where()  # (province, city, district) of the record being made
        self.fixed: dict[str, Any] = {}  # values every record made now gets (the parent of an ``each`` row)
        self.nth: int | None = None  # the record's number within that parent
        for f in form.fields:
            if f.required and f.type in FILE_TYPES:
                raise BadRequest(f"cannot generate files for the required field '{f.key}' of {form.key}")

    # -- distributions ---------------------------------------------------------------------------------------

    def zipf(self, n: int) -> int:
        """An index 0..n-1 where the first few are chosen most often."""
        weights = [1 / (i + 1) ** 1.1 for i in range(n)]
        return self.rng.choices(range(n), weights)[0]

    def popular(self, ids: list[int]) -> int:
        """One of ``ids``, a few popular ones most often (a power law over the list order)."""
        return ids[min(len(ids) - 1, int(len(ids) * self.rng.random() ** 2.5))]

    def moment(self) -> datetime:
        """A time in the period, denser towards its end, mostly in working hours, local to the app."""
        days = max((self.ctx.end - self.ctx.start).days, 1)
        day = self.ctx.start + timedelta(days=min(days - 1, int(days * self.rng.random() ** 0.7)))
        hour = self.rng.choices(range(24), [1, 1, 1, 1, 1, 2, 3, 6, 12, 16, 16, 14, 10, 14, 16, 15, 13, 10, 7, 5, 4,
                                            3, 2, 1])[0]
        return datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)), self.ctx.zone)

    def number(self, f: FieldSpec, scale: int, typical: float) -> Decimal:
        low = float(f.min) if f.min is not None else None
        high = float(f.max) if f.max is not None else None
        if low is not None and high is not None and high <= low * 50 + 1:
            value = low + (high - low) * self.rng.betavariate(2, 3)
        else:
            median = typical if low is None else max(typical, low * 3 + 1)
            value = math.exp(self.rng.gauss(math.log(median), 0.9))
            if low is not None:
                value = max(value, low)
            if high is not None:
                value = min(value, high)
        quantum = Decimal(1).scaleb(-scale)
        number = Decimal(str(value)).quantize(quantum)
        if f.min is not None and number < f.min:
            number = Decimal(f.min).quantize(quantum)
        if f.max is not None and number > f.max:
            number = Decimal(f.max).quantize(quantum, rounding="ROUND_DOWN")
        return number

    def text(self, f: FieldSpec) -> str:
        key = f.key.lower()
        if "company" in key or "supplier" in key or "vendor" in key or "org" in key:
            value = self.company()
        elif "name" in key or key in ("contact", "owner", "person"):
            value = self.person()
        elif "province" in key:
            value = self.home[0].name
        elif "city" in key:
            value = self.home[1].name
        elif "address" in key or "street" in key:
            value = f"{self.rng.choice(STREETS)}{self.rng.randint(1, 999)}号"
        elif f.type == "textarea" or "note" in key or "remark" in key or "comment" in key:
            value = "，".join("".join(self.rng.sample(WORDS, 2)) for _ in range(self.rng.randint(1, 4))) + "。"
        else:
            value = "".join(self.rng.sample(WORDS, 2)) + f"{self.rng.randint(1, 999)}"
        if f.unique:
            value = f"{value}-{self.counter}"
        if f.max_length is not None:
            value = value[: f.max_length]
        if f.min_length is not None and len(value) < f.min_length:
            value = value.ljust(f.min_length, "0")
        return value

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))

    def company(self) -> str:
        return self.home[1].name.rstrip("市州") + self.rng.choice(COMPANY_WORDS) + self.rng.choice(COMPANY_KINDS)

    def _where(self) -> tuple[Any, Any, Any]:
        """A province → city → district path: in one of the configured areas (by weight), else anywhere."""
        if not self._areas:
            return self.rng.choice(self._paths)
        paths = self.rng.choices([a[0] for a in self._areas], [a[1] for a in self._areas])[0]
        return self.rng.choice(paths)

    def region(self, levels: str = "district") -> str:
        """The record's own region (one province → city → district path of the region data) at ``levels``."""
        province, city, district = self.home
        return {"province": province.code, "city": city.code, "district": district.code}[levels]

    def idcard(self) -> str:
        region = self.home[2].code
        birth = date(1955, 1, 1) + timedelta(days=self.rng.randrange(365 * 50))
        body = f"{region}{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        return body + idcard_check_digit(body)

    def credit_code(self) -> str:
        region = self.home[2].code
        body = "91" + region + "".join(self.rng.choice(CREDIT_CODE_CHARSET) for _ in range(9))
        return body + credit_code_check_char(body)

    def bank_card(self) -> str:
        body = "62" + "".join(str(self.rng.randrange(10)) for _ in range(self.rng.choice((14, 16))))
        return body + luhn_check_digit(body)

    def phone(self) -> str:
        return "1" + self.rng.choice("3456789") + "".join(str(self.rng.randrange(10)) for _ in range(9))

    # -- one value ---------------------------------------------------------------------------------------------

    def value(self, f: FieldSpec) -> Any:  # noqa: C901 - one branch per field type is the clearest shape
        t, rng = f.type, self.rng
        if t in ("text", "textarea"):
            if f.pattern is not None:
                return None  # a free pattern cannot be generated in general; left blank
            return self.text(f)
        if t == "money":
            return format(self.number(f, f.scale, 8000), "f")
        if t == "number":
            return format(self.number(f, f.scale, 100), "f")
        if t == "percent":
            low = float(f.min) if f.min is not None else 0.01
            high = float(f.max) if f.max is not None else 0.3
            return format(Decimal(str(low + (high - low) * rng.random())).quantize(Decimal(1).scaleb(-f.scale)), "f")
        if t == "integer":
            return int(self.number(f, 0, 20))
        if t == "rating":
            top = int(f.max) if f.max is not None else 5
            return min(top, max(0, round(rng.gauss(top * 0.75, top * 0.2))))
        if t == "boolean":
            return rng.random() < 0.35
        if t == "date":
            return self.moment().date().isoformat()
        if t == "datetime":
            return self.moment().isoformat()
        if t == "time":
            return f"{rng.randint(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        if t == "duration":
            return int(math.exp(rng.gauss(math.log(3600), 1.2)))
        if t in ("select", "radio"):
            options = f.option_values()
            return options[self.zipf(len(options))] if options else None
        if t in ("multi_select", "checkboxes"):
            options = f.option_values()
            return [o for o in options if rng.random() < 0.3] or None
        if t == "user":
            if not self.ctx.users:
                return None
            ids = [u for u, _d in self.ctx.users]
            return rng.sample(ids, min(len(ids), rng.randint(1, 3))) if f.many else self.popular(ids)
        if t == "department":
            if not self.ctx.departments:
                return None
            ids = self.ctx.departments
            return rng.sample(ids, min(len(ids), 2)) if f.many else self.popular(ids)
        if t == "relation":
            ids = self.ctx.picks.get(f.key) if f.key in self.ctx.picks else self.ctx.related.get(f.to or "", [])
            if not ids:
                return None
            if f.unique and not f.many:  # one link per target (an invoice per order): any not linked yet
                taken = self.ctx.taken.setdefault(f.key, set())
                free = [i for i in ids if i not in taken]
                return rng.choice(free) if free else None
            return sorted(set(self.popular(ids) for _ in range(rng.randint(1, 3)))) if f.many else self.popular(ids)
        if t == "email":
            return f"user{self.counter}.{rng.randrange(10**6)}@{rng.choice(EMAIL_HOSTS)}"
        if t == "phone":
            return self.phone()
        if t == "url":
            return f"https://www.example.com/{rng.choice(('shop', 'news', 'about', 'p'))}/{self.counter}"
        if t == "id_card":
            return self.idcard()
        if t == "credit_code":
            return self.credit_code()
        if t == "bank_card":
            return self.bank_card()
        if t == "rich_text":
            return f"<p>{self.text(f)}</p>"
        if t == "region":
            return self.region(str(f.extra.get("levels", "district")))
        if t == "address":
            return {"region": self.region(), "detail": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"}
        if t == "location":
            return {"lat": round(rng.uniform(21.0, 41.0), 6), "lng": round(rng.uniform(98.0, 122.0), 6)}
        if t == "subtable":
            low = int(f.extra.get("min_rows") or 0)
            high = int(f.extra.get("max_rows") or max(low, 4))
            count = rng.randint(low, max(low, min(high, low + 4)))
            return [self.row(f) for _ in range(count)]
        return None  # layout items, computed values, files

    def row(self, sub: FieldSpec) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in sub.fields:
            if f.ftype.layout_only or f.ftype.computed or f.type in FILE_TYPES:
                continue
            if f.required or self.rng.random() < 0.85:
                out[f.key] = self.value(f)
        return {k: v for k, v in out.items() if v is not None}

    def submission(self) -> dict[str, Any]:
        """One record's values as a client would submit them (optional fields sometimes left blank)."""
        self.counter += 1
        self.home = self._where()
        out: dict[str, Any] = {}
        for f in self.form.fields:
            if f.ftype.layout_only or f.ftype.computed or f.type in FILE_TYPES:
                continue
            if f.required or f.type == "subtable" or self.rng.random() < 0.85:
                value = self.value(f)
                if f.unique and value is not None:
                    value = self.unused(f, value)
                if value is not None:
                    out[f.key] = value
        return out

    def unused(self, f: FieldSpec, value: Any) -> Any:
        """A value of a unique field not used yet (by existing records or earlier generated ones)."""
        seen = self.ctx.taken.setdefault(f.key, set())
        for _attempt in range(50):
            normal = f.ftype.coerce(value, f)
            if normal not in seen:
                seen.add(normal)
                return value
            value = self.value(f)
        return None

    # -- checked records ---------------------------------------------------------------------------------------

    def record(self, env: Any) -> dict[str, Any]:
        """Stored values of one record that passes every check of the form (generated again until it does)."""
        last: list[Any] = []
        for _attempt in range(MAX_ATTEMPTS):
            body = self.submission()
            body.update(self.fixed)
            for _fix in range(4):
                values, problems = validate.coerce_submission(self.form, body, creating=True)
                if not problems and self.ctx.fill:
                    problems = self.fill(values, env)
                if not problems:
                    related = self._related(values)
                    for f in self.form.fields:  # lookups first: formulas and rules may read them
                        if f.type == "lookup":
                            source = related.get(f.extra["relation"])
                            values[f.key] = None if source is None else source.get(f.extra["field"])
                    problems = validate.complete(self.form, values, env, creating=True, before=None, related=related)
                if not problems:
                    for f in self.form.fields:
                        if f.unique and values.get(f.key) is not None:
                            self.ctx.taken.setdefault(f.key, set()).add(values[f.key])
                    return values
                last = problems
                fixed = False
                for p in problems:
                    key = p.field.split("[", 1)[0].split(".", 1)[0]
                    f = self.form.by_key.get(key)
                    if f is None or f.ftype.computed:
                        continue
                    if p.code == "required" and key not in body:
                        value = self.value(f)
                        if value is not None:
                            body[key] = value
                            fixed = True
                    elif key in body and not f.required:
                        del body[key]  # a value the conditions do not allow here
                        fixed = True
                if not fixed:
                    break
        raise BadRequest(f"could not generate a valid {self.form.key} record: " +
                         "; ".join(f"{p.field}: {p.message}" for p in last[:3]))

    def fill(self, values: dict[str, Any], env: Any) -> list[Any]:
        """Apply the demo ``values``: each field from an expression over the record and its related records, a
        number or date ``between`` two, or ``one_of`` a list — so linked records agree (an invoice's customer is its
        order's customer; a quantity lies within the product's limits)."""
        from engine.errors import FieldProblem

        from .fields import InvalidField

        for key, (kind, spec) in self.ctx.fill:
            f = self.form.by_key[key]
            related = self._related(values)
            if self.nth is not None:
                related["nth"] = self.nth
            scope = validate._ExprValues(values, related)
            try:
                if kind == "expr":
                    value = spec.evaluate(scope, env)
                elif kind == "one_of":
                    items = spec.evaluate(scope, env) or []
                    value = self.rng.choice(list(items)) if items else None
                elif kind == "role":  # one of the people holding the role, a few of them most often
                    value = self.popular(self.ctx.role_members[spec])
                else:
                    low, high, step = (s.evaluate(scope, env) if hasattr(s, "evaluate") else s for s in spec)
                    value = self._between(f, low, high, step)
            except Exception as exc:  # noqa: BLE001 - a value that cannot be made: generate the record again
                return [FieldProblem(key, f"demo value: {exc}", "demo")]
            if value is None:
                values[key] = None
                continue
            try:
                values[key] = f.ftype.coerce(value if not isinstance(value, Decimal) or f.type != "integer"
                                             else int(value), f)
            except InvalidField as exc:
                return [FieldProblem(key, f"demo value: {exc.message}", "demo")]
        for key, _spec in self.ctx.fill:
            f = self.form.by_key[key]
            if f.unique and values.get(key) is not None and values[key] in self.ctx.taken.get(key, ()):
                return [FieldProblem(key, "demo value: already used", "demo")]
        return []

    def _between(self, f: FieldSpec, low: Any, high: Any, step: Any) -> Any:
        if low is None or high is None:
            return None
        if isinstance(low, date):
            span = max((high - low).days, 0)
            day = low + timedelta(days=self.rng.randint(0, span))
            return day if f.type == "date" else datetime.combine(day, time(10), self.ctx.zone)
        low, high = (Decimal(str(x)) if isinstance(x, float) else Decimal(x) for x in (low, high))
        if high < low:
            return None
        quantum = Decimal(str(step)) if step else (Decimal(1) if f.type == "integer" else Decimal(1).scaleb(-f.scale))
        steps = int((high - low) / quantum)
        return low + quantum * self.rng.randint(0, max(steps, 0))

    def _related(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.form.fields:
            if f.type == "relation" and not f.many and values.get(f.key) is not None:
                out[f.key] = self.ctx.related_rows.get(f.to or "", {}).get(values[f.key])
        return out


def _region_paths() -> list[tuple[Any, Any, Any]]:
    """Every (province, city, district) of the region data where all three exist, so a record's province, city
    and district agree (districts directly under a province, without a city, are left out)."""
    paths = []
    for province in region_data.children(None):
        for city in region_data.children(province.code):
            if city.level != "city":
                continue
            for district in region_data.children(city.code):
                if district.level == "district":
                    paths.append((province, city, district))
    return sorted(paths, key=lambda p: p[2].code)


def context(platform: Any, live: Any, form: FormSpec, *, days: int = 365, today: date | None = None) -> FakeContext:
    """The people, departments and related records generated values may point at."""
    zone = ZoneInfo(live.spec.settings.timezone)
    today = today or platform.clock.now().astimezone(zone).date()
    ctx = FakeContext(start=today - timedelta(days=days), end=today + timedelta(days=1), zone=zone, users=[],
                      departments=[], today=today)
    with platform.db.connect() as conn:
        ctx.users = [(r[0], r[1]) for r in conn.execute(
            select(users.c.id, users.c.department_id).where(users.c.is_active.is_(True)).order_by(users.c.id))]
        ctx.departments = [r[0] for r in conn.execute(select(departments.c.id).order_by(departments.c.id))]
        active = {u for u, _d in ctx.users}
        for role, user_id in conn.execute(select(user_roles.c.role_key, user_roles.c.user_id)
                                          .order_by(user_roles.c.role_key, user_roles.c.user_id)):
            if user_id in active:
                ctx.role_members.setdefault(role, []).append(user_id)
        table = live.tables[table_name(live.key, form.key)]
        for f in form.fields:
            if f.unique and f.stored:
                ctx.taken[f.key] = set(conn.execute(select(table.c[f.key]).where(table.c[f.key].is_not(None))).scalars())
        targets = {f.to for f in _all_fields(form) if f.type == "relation" and f.to}
        for target_key in sorted(targets):
            target = live.tables[table_name(live.key, target_key)]
            rows = conn.execute(select(target).order_by(target.c.id).limit(20_000)).mappings().all()
            ctx.related[target_key] = [r["id"] for r in rows]
            ctx.related_rows[target_key] = {r["id"]: {k: r[k] for k in r.keys()} for r in rows}
    return ctx


def _all_fields(form: FormSpec) -> Iterator[FieldSpec]:
    for f in form.fields:
        yield f
        yield from f.fields


def _compile_options(live: Any, form: FormSpec, ctx: FakeContext, options: Mapping[str, Any]) -> None:
    """The demo row's ``where`` (relations limited to matching targets) and ``values`` (filled from expressions)."""
    from rules_engine import Scope, compile_expression

    scope = Scope.open_scope()

    def compiled(source: Any, where: str) -> Any:
        if not isinstance(source, str):
            return source
        try:
            return compile_expression(source, scope)
        except Exception as exc:  # noqa: BLE001
            raise BadRequest(f"demo data of {form.key}: {where}: {getattr(exc, 'message', exc)}") from None

    for key, source in (options.get("where") or {}).items():
        f = form.by_key.get(key)
        if f is None or f.type != "relation" or f.many:
            raise BadRequest(f"demo data of {form.key}: where: '{key}' is not a single relation field")
        test = compiled(source, f"where.{key}")
        rows = ctx.related_rows.get(f.to or "", {})
        ctx.picks[key] = [i for i in ctx.related.get(f.to or "", []) if test.try_evaluate(rows[i])[0] is True]
    for key, source in (options.get("each") or {}).items():
        f = form.by_key.get(key)
        if f is None or f.type != "relation" or f.many:
            raise BadRequest(f"demo data of {form.key}: each: '{key}' is not a single relation field")
        ctx.each = (key, compiled(source, f"each.{key}"))
    fill = []
    for key, spec in (options.get("values") or {}).items():
        f = form.by_key.get(key)
        if f is None or f.ftype.computed or f.ftype.layout_only:
            raise BadRequest(f"demo data of {form.key}: values: '{key}' is not a field that can be filled")
        if isinstance(spec, str):
            fill.append((key, ("expr", compiled(spec, f"values.{key}"))))
        elif "one_of" in spec:
            fill.append((key, ("one_of", compiled(spec["one_of"], f"values.{key}.one_of"))))
        elif "role" in spec:
            if f.type != "user" or f.many:
                raise BadRequest(f"demo data of {form.key}: values.{key}: 'role' fills a single user field")
            if not ctx.role_members.get(str(spec["role"])):
                raise BadRequest(f"demo data of {form.key}: values.{key}: no active user holds the role "
                                 f"'{spec['role']}'")
            fill.append((key, ("role", str(spec["role"]))))
        else:
            low, high = (compiled(s, f"values.{key}.between") for s in spec["between"])
            fill.append((key, ("between", (low, high, spec.get("step")))))
    ctx.fill = tuple(fill)


def generate(platform: Any, app: str, form_key: str, rows: int, *, seed: int = 0, days: int = 365,
             batch: int = 5000, progress: Callable[[int], None] | None = None,
             options: Mapping[str, Any] | None = None, regions: Mapping[str, float] | None = None) -> int:
    """Insert ``rows`` generated records of ``app``'s form ``form_key``; return how many were inserted.

    Records get owners and departments of the organisation's users and creation times spread over ``days``.
    Each batch is one transaction: a failure leaves earlier batches in place and nothing of its own.
    """
    from rules_engine import Env

    live = platform.app(app)
    form = live.spec.forms.get(form_key)
    if form is None:
        raise NotFound(f"app '{app}' has no form '{form_key}'")
    if rows < 1 or rows > 10_000_000:
        raise BadRequest("rows is 1..10,000,000")
    rng = random.Random(seed)
    ctx = context(platform, live, form, days=days)
    ctx.regions = dict(regions or {})
    if options:
        _compile_options(live, form, ctx, options)
    faker = Faker(form, ctx, rng)
    for f in form.fields:  # one record per target of a required unique link (an invoice per order): no more
        if f.type == "relation" and f.unique and f.required and not f.many:
            ids = ctx.picks[f.key] if f.key in ctx.picks else ctx.related.get(f.to or "", [])
            rows = min(rows, len(set(ids) - ctx.taken.get(f.key, set())))
    plan: list[tuple[int, int]] | None = None  # (parent id, nth) per record of an ``each`` row
    if ctx.each is not None:
        key, count = ctx.each
        target = form.by_key[key].to or ""
        plan = []
        for parent in (ctx.picks[key] if key in ctx.picks else ctx.related.get(target, [])):
            n, _error = count.try_evaluate(ctx.related_rows.get(target, {}).get(parent, {}))
            plan.extend((parent, nth) for nth in range(1, int(n or 0) + 1))
            if len(plan) >= rows:
                break
        rows = min(rows, len(plan))
    if rows < 1:
        return 0
    s = live.spec.settings
    env = Env(clock=platform.clock.now, timezone=s.timezone, user=None, holidays=s.holidays, workdays=s.work_days,
              extra_workdays=s.extra_workdays) if form.uses_expressions or options else None
    table = live.tables[table_name(app, form_key)]
    children = {sub.key: live.tables[child_table_name(app, form_key, sub.key)] for sub in form.subtables}
    serials = [f for f in form.fields if f.type == "serial_number"]
    stored_fields = [f.key for f in form.stored_fields]
    done = 0
    user_departments = dict(ctx.users)
    with platform.db.connect() as conn:
        next_id = (conn.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar() or 0) + 1
    while done < rows:
        size = min(batch, rows - done)
        records: list[dict[str, Any]] = []
        child_rows: dict[str, list[dict[str, Any]]] = {k: [] for k in children}
        with platform.db.begin() as conn:
            numbers = {f.key: _serials(conn, app, form_key, f, size, platform.clock.now(), s.timezone) for f in serials}
            for i in range(size):
                if plan is not None and ctx.each is not None:
                    parent, faker.nth = plan[done + i]
                    faker.fixed = {ctx.each[0]: parent}
                values = faker.record(env)
                owner, department = rng.choice(ctx.users) if ctx.users else (None, None)
                created = faker.moment().astimezone(timezone.utc)
                record_id = next_id + i
                row = {k: values.get(k) for k in stored_fields}
                for key, issued in numbers.items():
                    row[key] = issued[i]
                row.update(id=record_id, row_version=1, def_version=live.version, created_at=created,
                           updated_at=created, created_by=owner, owner_id=owner, department_id=department)
                if form.owner_field and row.get(form.owner_field) is not None:
                    row["owner_id"] = row[form.owner_field]  # and the record sits in the owner's department
                    row["department_id"] = user_departments.get(row["owner_id"], row["department_id"])
                records.append(row)
                for sub in form.subtables:
                    for j, r in enumerate(values.get(sub.key) or []):
                        child_rows[sub.key].append({"parent_id": record_id, "row_index": j,
                                                    **{x.key: r.get(x.key) for x in sub.fields if x.stored}})
            conn.execute(insert(table), records)
            for key, items in child_rows.items():
                if items:
                    conn.execute(insert(children[key]), items)
            _advance_sequence(conn, table, next_id + size - 1)
            for key, items in child_rows.items():
                if items:
                    _advance_sequence(conn, children[key], None)
        next_id += size
        done += size
        if progress is not None:
            progress(done)
    return done


def _serials(conn: Any, app: str, form: str, f: FieldSpec, count: int, now: datetime, tz: str) -> list[str]:
    """``count`` serial numbers taken from the form's counter in one step (so later saves continue after them)."""
    from .validators.serials import format_serial, parse_pattern, period_key

    spec = parse_pattern(f.extra["template"])
    local = now.astimezone(ZoneInfo(tz)).date()
    period = period_key(spec, local)
    key = (serial_counters.c.app == app, serial_counters.c.form == form, serial_counters.c.field == f.key,
           serial_counters.c.period == period)
    current = conn.execute(select(serial_counters.c.value).where(*key)).scalar()
    if current is None:
        conn.execute(insert(serial_counters).values(app=app, form=form, field=f.key, period=period, value=count))
        current = 0
    else:
        conn.execute(update(serial_counters).where(*key).values(value=serial_counters.c.value + count))
    return [format_serial(spec, local, current + i + 1) for i in range(count)]


def _advance_sequence(conn: Any, table: Any, last: int | None) -> None:
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                         f"(SELECT max(id) FROM \"{table.name}\"))")


def add_command(sub: Any) -> None:
    """``loomwork fake APP FORM --rows N [--seed S] [--days D]``."""
    p = sub.add_parser("fake", help="insert N generated, realistic records into a form (demos, benchmarks)")
    p.add_argument("app")
    p.add_argument("form")
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=365, help="spread creation times over the last D days")
    p.add_argument("--batch", type=int, default=5000)
    p.set_defaults(func=_cmd_fake)


def _cmd_fake(args: Any) -> int:
    from engine.cli import platform_from_args

    platform = platform_from_args(args)
    platform.activate_published()
    count = generate(platform, args.app, args.form, args.rows, seed=args.seed, days=args.days, batch=args.batch,
                     progress=lambda n: print(f"{n} records", flush=True) if n % 50_000 == 0 else None)
    print(f"{args.app}.{args.form}: {count} generated records inserted")
    return 0


def demo_records(platform: Any, live: Any, rows: int | None) -> Iterator[str]:
    """Fill an empty app with generated records, as its ``demo`` setting asks (once: a filled app is left alone)."""
    from sqlalchemy import func, select

    settings = live.spec.settings
    options = settings.demo_options or tuple({} for _ in settings.demo_rows)
    plan = [(form, min(rows, count) if rows else count) for form, count in settings.demo_rows]
    if not plan:
        return
    with platform.db.connect() as conn:
        filled = any(conn.execute(select(func.count()).select_from(live.tables[table_name(live.key, form)])).scalar_one()
                     for form, _ in plan)
    if filled:
        yield f"{live.key}: demo data already there"
        return
    for position, (form, count) in enumerate(plan):
        made = generate(platform, live.key, form, count, seed=settings.demo_seed + position, days=settings.demo_days,
                        options=options[position] if position < len(options) else None,
                        regions=settings.demo_regions)
        yield f"{live.key}: {made} {form} records"
    refreshed = refresh_rollups(platform, live, {form for form, _ in plan})
    if refreshed:
        yield f"{live.key}: rollups of {refreshed} records brought up to date"


def refresh_rollups(platform: Any, live: Any, generated: set[str]) -> int:
    """Recompute the related-record rollups (and the formulas reading them) of every record whose rollups count
    generated records — bulk inserts write no events — in dependency order, each record once."""
    import networkx as nx

    from engine.permissions import SYSTEM

    records = platform.services["records"]
    graph = nx.DiGraph()
    links: dict[str, set[tuple[str, str]]] = {}  # target form → (child form, relation field) its rollups count
    for spec in live.spec.forms.values():
        for f in spec.fields:
            if f.type == "rollup" and "over_form" in f.extra:
                graph.add_edge(f.extra["over_form"], spec.key)
                links.setdefault(spec.key, set()).add((f.extra["over_form"], f.extra["over_relation"]))
    if not graph.number_of_nodes():
        return 0
    reached = set()
    for form in generated & set(graph.nodes):
        reached |= nx.descendants(graph, form)
    done = 0
    for key in nx.lexicographical_topological_sort(graph):
        if key not in reached:
            continue
        form = live.spec.forms[key]
        table = live.tables[table_name(live.key, key)]
        with platform.db.begin() as conn:
            ids: set[int] = set()  # only records some related record points at have anything to count
            for child, relation in links.get(key, ()):
                column = live.tables[table_name(live.key, child)].c[relation]
                ids.update(conn.execute(select(column).where(column.is_not(None)).distinct()).scalars())
            records.recalculate_many(conn, live, form, sorted(ids), SYSTEM)
        done += len(ids)
    return done
