"""A report definition that is not published (a designer's draft) runs over the app's data like a published one:
the same figures, the same read scope and rights, located definition errors, and nothing left in the caches."""
from __future__ import annotations

from typing import Any

import pytest

from engine.errors import DefinitionErrors, Forbidden
from conftest import ShopData, principal


def _reports(shop: tuple[Any, ShopData]) -> Any:
    return shop[0].services["reports"]


DRAFT = {"key": "draft_channel", "dataset": "sale", "dimensions": ["channel"],
         "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}], "sort": ["-count"], "chart": "bar"}


def test_a_draft_report_counts_what_a_published_one_counts(shop: tuple[Any, ShopData]) -> None:
    platform, data = shop
    reports = _reports(shop)
    statements_before = len(reports.statements._items)
    for user in ("ana", "nick"):
        who = principal(platform, user)
        spec = reports.build_spec("shop", DRAFT)
        draft = reports.run_spec("shop", spec, who)
        published = reports.run("shop", "sales_by_channel", who)
        got = {r["channel"]: (r["count"], r["sum_amount"]) for r in draft["rows"]}
        assert got == {r["channel"]: (r["count"], r["sum_amount"]) for r in published["rows"]}
        visible = [r for r in data.sales if user == "ana" or r["owner_id"] == data.users["nick"]]
        assert sum(c for c, _ in got.values()) == len(visible)
        assert draft["figure"]["data"][0]["type"] == "bar"
        assert [r["count"] for r in draft["rows"]] == sorted((r["count"] for r in draft["rows"]), reverse=True)
    # client parameters are checked as for a published report
    web = reports.run_spec("shop", reports.build_spec("shop", DRAFT), principal(platform, "ana"),
                           {"filters": {"channel": ["web"]}})
    assert [r["channel"] for r in web["rows"]] == ["web"]
    assert len(reports.statements._items) == statements_before + 2  # only the two published runs were kept


def test_a_draft_report_on_a_form_the_caller_cannot_read_is_refused(shop: tuple[Any, ShopData]) -> None:
    platform, _data = shop
    reports = _reports(shop)
    with pytest.raises(Forbidden):
        reports.run_spec("shop", reports.build_spec("shop", DRAFT), principal(platform, "gus"))


@pytest.mark.parametrize("change, path, words", [
    ({"dimensions": ["chanel"]}, "dimensions[0]", "did you mean 'channel'"),
    ({"measures": [{"agg": "sum", "field": "note"}]}, "measures[0]", "note"),
    ({"dataset": "nothing"}, "dataset", "unknown form 'nothing'"),
    ({"measures": []}, "measures", ""),
])
def test_a_draft_with_a_bad_name_is_refused_with_located_errors(shop: tuple[Any, ShopData], change: dict[str, Any],
                                                                  path: str, words: str) -> None:
    reports = _reports(shop)
    with pytest.raises(DefinitionErrors) as caught:
        reports.build_spec("shop", DRAFT | change, file="reports/draft_channel.yaml")
    errors = caught.value.errors
    assert errors and all(e.file == "reports/draft_channel.yaml" for e in errors)
    assert any(e.path.startswith(path) and words in (e.message + " " + (e.hint or "")) for e in errors), errors
