"""Report and dashboard definitions: the kinds load from reports/, and every bad definition gets a located error."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DefinitionErrors
from engine.loader import load_app, read_app_folder
from engine.plugins import Hooks, load_builtin

SHOP = Path(__file__).parent / "apps" / "shop"
PURCHASING = Path(__file__).parents[1] / "apps" / "purchasing"


@pytest.fixture(scope="module")
def hooks() -> Hooks:
    return load_builtin(Hooks())


def load_with(hooks: Hooks, folder: Path, extra: dict[str, str]) -> object:
    files, errors = read_app_folder(folder)
    assert not errors
    files.update(extra)
    return load_app(files, hooks.kinds)


def problems(hooks: Hooks, text: str, folder: Path = SHOP, name: str = "reports/bad.yaml") -> list[str]:
    with pytest.raises(DefinitionErrors) as info:
        load_with(hooks, folder, {name: text})
    return [str(e) for e in info.value.errors]


def test_shop_and_purchasing_reports_load(hooks: Hooks) -> None:
    shop = load_with(hooks, SHOP, {})
    assert "sales_by_channel" in shop.of_kind("report")
    board = shop.of_kind("dashboard")["sales_overview"]
    province = board.filter("province")
    # the dashboard filter found the two-hop path from each widget's dataset to the area form by itself
    assert dict(province.fields)["sales_by_channel"].path == "store.area.province"
    assert dict(board.filter("city").fields)["top_stores"].path == "store.city"
    purchasing = load_with(hooks, PURCHASING, {})
    assert purchasing.of_kind("report")


@pytest.mark.parametrize("text, expected", [
    ("key: r\ndataset: sale\ndimensions: [colour]\nmeasures: [{agg: count}]\n",
     "reports/bad.yaml:3:14: dimensions[0]: form 'sale' has no field 'colour'"),
    ("key: r\ndataset: sale\nmeasures:\n  - {agg: sum, field: amont}\n",
     "reports/bad.yaml:4:23: measures[0].field: form 'sale' has no field 'amont' (did you mean 'amount'?)"),
    ("key: r\ndataset: sale\nmeasures:\n  - {agg: sum, field: note}\n",
     "reports/bad.yaml:4:23: measures[0].field: cannot sum 'note', a text field"),
    ("key: r\ndataset: sale\nmeasures:\n  - {agg: avg, field: store.city}\n",
     "cannot avg 'store.city', a text field"),
    ("key: r\ndataset: sales\nmeasures: [{agg: count}]\n",
     "reports/bad.yaml:2:10: dataset: unknown form 'sales' (did you mean 'sale'?)"),
    ("key: r\ndataset: sale.items\nmeasures: [{agg: count}]\n", "form 'sale' has no sub-table 'items'"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}, {key: x, expr: 'count / cnt'}]\n",
     "formula: unknown measure 'cnt'"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nchart: pie\n", "a pie chart needs exactly one dimension"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nchart: bars\n", "unknown chart type 'bars' (did you mean 'bar'?)"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nsort: [-total]\n", "unknown column 'total' to sort by"),
    ("key: r\ndataset: sale\ndimensions: [{field: note, bucket: month}]\nmeasures: [{agg: count}]\n",
     "bucket needs a date field; 'note' is a text field"),
    ("key: r\ndataset: sale\ndimensions: [tags]\nmeasures: [{agg: count}]\n", "cannot group by 'tags'"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nfilters: [\"amount > 'x' and\"]\n", "filter: syntax error"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nfilters: [\"__import__('os')\"]\n", "filter:"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nfilters: [\"LEN(note) > 3\"]\n",
     "function LEN() is not available in report filters"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nfilters: [{field: sold_on, range: this_decade}]\n",
     "unknown date range 'this_decade'"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nfilters: [{field: channel, op: eq, value: fax}]\n",
     "'fax' is not an option of channel"),
    ("key: r\ndataset: sale\nmeasures: [{agg: sum, field: amount, compare: previous_period}]\n",
     "a comparison needs a date range filter"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\ncolour: red\n", "unknown key 'colour'"),
    ("key: r\ndataset: sale\ndimensions: [store.area.nam]\nmeasures: [{agg: count}]\n",
     "form 'area' has no field 'nam' (did you mean 'name'?)"),
    ("key: r\ndataset: sale\ndimensions: [channel.name]\nmeasures: [{agg: count}]\n",
     "'channel' is not a relation field of form 'sale'"),
    ("key: r\ndataset: sale\ndimensions: [channel]\nmeasures: [{agg: count}]\nchart: {type: bar, y2: [cnt]}\n",
     "reports/bad.yaml:5:25: chart.y2[0]: unknown measure 'cnt' (did you mean 'count'?)"),
    ("key: r\ndataset: sale\ndimensions: [channel]\nmeasures: [{agg: count}, {agg: sum, field: amount}]\n"
     "chart: {type: pie, y2: count}\n", "a second value axis is for vertical bar, line and area charts, not pie"),
    ("key: r\ndataset: sale\ndimensions: [channel]\nmeasures: [{agg: count}, {agg: sum, field: amount}]\n"
     "chart: {type: bar, horizontal: true, y2: count}\n", "not bar (horizontal)"),
    ("key: r\ndataset: sale\ndimensions: [channel, store.city]\nmeasures: [{agg: count}, {agg: sum, field: amount}]\n"
     "chart: {type: bar, y2: count}\n", "a second value axis needs exactly one dimension (got 2)"),
    ("key: r\ndataset: sale\ndimensions: [channel]\nmeasures: [{agg: count}, {agg: sum, field: amount}]\n"
     "chart: {type: line, y: [count], y2: [count]}\n", "on both axes: count"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}, {agg: sum, field: amount}]\n"
     "chart: {type: scatter, y: [count]}\n", "a scatter chart plots one measure on y"),
    ("key: r\ndataset: sale\ndimensions: [channel]\nmeasures: [{agg: count}, {agg: sum, field: amount}]\n"
     "chart: {type: pie, y: [count]}\n", "choosing the plotted measures is for bar, line, area, leaderboard"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: nope}]\n", "reports/bad.yaml:3:20: widgets[0].report: unknown report 'nope'"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\nfilters: [{key: c, field: sale.chanel}]\n",
     "form 'sale' has no field 'chanel' (did you mean 'channel'?)"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\n"
     "filters: [{key: c, field: store.city, depends_on: p}]\n", "unknown filter 'p' (it must come earlier)"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\n"
     "filters: [{key: c, field: sale.channel, default: [fax]}]\n", "'fax' is not an option of channel"),
    ("kind: board\nkey: d\nwidgets: [{report: sales_by_channel}]\n", "unknown kind 'board' in reports/"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\nhome: {roles: [manger]}\n",
     "reports/bad.yaml:4:16: home.roles[0]: unknown role 'manger' (did you mean 'manager'?)"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\nhome: {roles: [clerk], departments: [east]}\n",
     "reports/bad.yaml:4:38: home.departments[0]: unknown department 'east' (one of: hq, north, south)"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\nhome: {people: [clerk]}\n",
     "reports/bad.yaml:4:8: home.people: unknown key 'people'"),
    # a date filter's fixed default dates: real dates, in order, and only on a date field
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\n"
     "filters: [{key: s, field: sale.sold_on, default: {from: 2026-03-01, to: 2026-02-01}}]\n",
     "reports/bad.yaml:4:50: filters[0].default: the default range ends (2026-02-01) before it starts (2026-03-01)"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\n"
     "filters: [{key: s, field: sale.sold_on, default: {from: 2026-02-30}}]\n",
     "filters[0].default.from: not a date: '2026-02-30' (write the date as YYYY-MM-DD)"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\n"
     "filters: [{key: s, field: sale.sold_on, default: {since: 2026-02-01}}]\n", "filters[0].default"),
    ("kind: dashboard\nkey: d\nwidgets: [{report: sales_by_channel}]\n"
     "filters: [{key: c, field: sale.amount, default: {from: 2026-02-01}}]\n",
     "a {from, to} default is for a date filter; 'amount' is a money field"),
])
def test_bad_definitions_are_located(hooks: Hooks, text: str, expected: str) -> None:
    found = problems(hooks, text)
    assert any(expected in p for p in found), found


def test_home_says_whose_home_page_a_dashboard_is(hooks: Hooks) -> None:
    app = load_with(hooks, SHOP, {"reports/a_desk.yaml": "kind: dashboard\nkey: a_desk\nwidgets: [{report: sales_by_channel}]\n"
                                  "home: {roles: [clerk], departments: [north]}\n"})
    desk = app.of_kind("dashboard")["a_desk"]  # type: ignore[attr-defined]
    assert (desk.home, desk.home_roles, desk.home_departments) == (True, ("clerk",), ("north",))
    assert desk.home_of(frozenset({"clerk"}), frozenset()) and desk.home_of(frozenset(), frozenset({"hq", "north"}))
    assert not desk.home_of(frozenset({"manager"}), frozenset({"hq", "south"}))
    everyone = [b for b in app.of_kind("dashboard").values() if b.home and not b.home_roles]  # type: ignore[attr-defined]
    assert all(b.home_of(frozenset(), frozenset()) for b in everyone)


def test_every_problem_of_a_file_is_reported_at_once(hooks: Hooks) -> None:
    found = problems(hooks, "key: r\ndataset: sale\ndimensions: [colour]\nmeasures:\n  - {agg: sum, field: note}\n")
    assert len(found) == 2 and "colour" in found[0] and "note" in found[1]


def test_report_schemas_are_published(hooks: Hooks) -> None:
    from engine.metaschema import load_schema

    assert load_schema("report")["properties"]["dataset"]
    assert load_schema("dashboard")["properties"]["kind"] == {"const": "dashboard"}
