"""Plotly figures (as JSON-ready dicts) for every chart type, built from a run's presented rows.

The page renders them with plotly.js (served from the installed plotly package); each trace carries the
dimension values in ``customdata`` so a click can drill down or set a dashboard filter. Nothing is aggregated
here: the figure only lays out the rows the database returned (a pivot puts the second dimension in columns).

The province map is a tile-grid map: every province-level division is one square at its approximate place,
coloured by the measure (a choropleth without shipping map outlines).
"""
from __future__ import annotations

from typing import Any, Mapping

from .spec import ReportSpec

#: GB/T 2260 province code prefix → (row, column) on the tile grid, north-west first
PROVINCE_TILES: dict[str, tuple[int, int]] = {
    "23": (0, 7), "22": (1, 7), "15": (2, 5), "11": (2, 6), "21": (2, 7), "65": (2, 1), "62": (3, 3),
    "64": (3, 4), "14": (3, 5), "13": (3, 6), "12": (3, 7), "63": (4, 3), "61": (4, 5), "41": (4, 6),
    "37": (4, 7), "32": (4, 8), "54": (5, 2), "51": (5, 4), "50": (5, 5), "42": (5, 6), "34": (5, 7),
    "31": (5, 8), "52": (6, 5), "43": (6, 6), "36": (6, 7), "33": (6, 8), "53": (7, 4), "45": (7, 5),
    "44": (7, 6), "35": (7, 7), "71": (7, 8), "46": (8, 5), "82": (8, 6), "81": (8, 7),
}

_FORMATS = {"money": ",.2f", "integer": ",d", "number": ",.4~f"}
_PALETTE = ["#2f6fdf", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
            "#bab0ac"]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(column: Mapping[str, Any]) -> str:
    if column.get("format") == "percent":  # a fraction at ``scale`` places: a percent with two fewer decimals
        return f",.{percent_places(column.get('scale'))}%"
    return _FORMATS.get(str(column.get("format")), ",.2f")


def percent_places(scale: Any) -> int:
    """The decimals of a percentage shown for a fraction kept at ``scale`` places (0.1234 at 4 → 12.34 %): the
    table, the chart, the home card and the export all show a percent value this way."""
    return max(int(scale) - 2, 0) if isinstance(scale, int) else 1


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {"title": {"text": title}, "margin": {"l": 48, "r": 16, "t": 40, "b": 40},
                              "separators": ".,", "colorway": _PALETTE, "autosize": True,
                              "legend": {"orientation": "h"}}
    layout.update(extra)
    return layout


def figure(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    kind = report.chart.type
    builder = _BUILDERS.get(kind, _table)
    return builder(report, result, lang)


def _columns(result: Mapping[str, Any], role: str) -> list[Mapping[str, Any]]:
    return [c for c in result["columns"] if c["role"] == role]


def _dim_keys(result: Mapping[str, Any]) -> list[str]:
    return [c["key"] for c in _columns(result, "dimension")]


def _point(row: Mapping[str, Any], dims: list[str]) -> list[Any]:
    """customdata: the dimension values of a row (null for the 'others' row, which cannot be drilled)."""
    return [None if row.get("_other") else row.get(k) for k in dims]


def _series(report: ReportSpec, result: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Mapping[str, Any] | None]:
    """One series per measure (one dimension), or one per value of the second dimension (two dimensions)."""
    dims = _dim_keys(result)
    measures = _columns(result, "measure")
    rows = result["rows"]
    if not dims:
        return [{"name": m["label"], "x": [m["label"]], "y": [_num(rows[0].get(m["key"])) if rows else None],
                 "custom": [[]], "column": m} for m in measures], None
    first = dims[0]
    if len(dims) >= 2 and measures:
        chosen = report.chart.plot[0] if report.chart.plot else None
        m = next((c for c in measures if c["key"] == chosen), measures[0])
        order: list[Any] = []
        names: dict[Any, str] = {}
        for row in rows:
            value = row.get(dims[1])
            if value not in names:
                names[value] = str(row.get(dims[1] + "__label"))
                order.append(value)
        out = []
        for value in order:
            subset = [r for r in rows if r.get(dims[1]) == value]
            out.append({"name": names[value], "x": [str(r.get(first + "__label")) for r in subset],
                        "y": [_num(r.get(m["key"])) for r in subset], "custom": [_point(r, dims) for r in subset],
                        "column": m})
        return out, m
    plot, right = report.chart.plot, report.chart.y2
    by_key = {m["key"]: m for m in measures}
    left = [by_key[k] for k in plot if k in by_key] if plot else [m for m in measures if m["key"] not in right]
    out = [{"name": m["label"], "x": [str(r.get(first + "__label")) for r in rows],
            "y": [_num(r.get(m["key"])) for r in rows], "custom": [_point(r, dims) for r in rows], "column": m,
            "right": m["key"] in right} for m in left + [by_key[k] for k in right if k in by_key]]
    return out, (left[0] if left else None)


def _right_axis(series: list[dict[str, Any]]) -> dict[str, Any]:
    """The layout of the second value axis (``chart.y2``), when some series use it."""
    right = [s for s in series if s.get("right")]
    if not right:
        return {}
    return {"yaxis2": {"overlaying": "y", "side": "right", "tickformat": _fmt(right[0]["column"]),
                       "rangemode": "tozero", "showgrid": False},
            "margin": {"l": 48, "r": 56, "t": 40, "b": 40}}


def _bar(report: ReportSpec, result: Mapping[str, Any], lang: str, *, horizontal: bool | None = None
         ) -> dict[str, Any]:
    series, first = _series(report, result)
    horizontal = report.chart.horizontal if horizontal is None else horizontal
    traces = []
    for s in series:
        if s.get("right"):  # a figure of another scale: a line against the right-hand axis
            traces.append({"type": "scatter", "mode": "lines+markers", "name": s["name"], "x": s["x"], "y": s["y"],
                           "yaxis": "y2", "customdata": s["custom"],
                           "hovertemplate": f"%{{x}}: %{{y:{_fmt(s['column'])}}}<extra>%{{fullData.name}}</extra>"})
            continue
        trace: dict[str, Any] = {"type": "bar", "name": s["name"], "customdata": s["custom"],
                                 "hovertemplate": f"%{{{'y' if horizontal else 'x'}}}: "
                                                  f"%{{{'x' if horizontal else 'y'}:{_fmt(s['column'])}}}"
                                                  "<extra>%{fullData.name}</extra>"}
        if horizontal:
            trace.update(orientation="h", x=s["y"], y=s["x"])
        else:
            trace.update(x=s["x"], y=s["y"])
        traces.append(trace)
    value_axis = {"tickformat": _fmt(first) if first else None, "rangemode": "tozero"}
    category_axis: dict[str, Any] = {"type": "category", "automargin": True}
    if horizontal:
        category_axis["autorange"] = "reversed"
    layout = _layout(result["label"], barmode="stack" if report.chart.stacked else "group",
                     xaxis=value_axis if horizontal else category_axis,
                     yaxis=category_axis if horizontal else value_axis, **_right_axis(series))
    return {"data": traces, "layout": layout}


def _line(report: ReportSpec, result: Mapping[str, Any], lang: str, *, area: bool = False) -> dict[str, Any]:
    series, first = _series(report, result)
    traces = []
    for s in series:
        trace: dict[str, Any] = {"type": "scatter", "mode": "lines+markers", "name": s["name"], "x": s["x"],
                                 "y": s["y"], "customdata": s["custom"],
                                 "hovertemplate": f"%{{x}}: %{{y:{_fmt(s['column'])}}}<extra>%{{fullData.name}}</extra>"}
        if s.get("right"):
            trace["yaxis"] = "y2"
        elif area:
            if report.chart.stacked:
                trace["stackgroup"] = "one"
            else:
                trace["fill"] = "tozeroy"
        traces.append(trace)
    return {"data": traces, "layout": _layout(result["label"], xaxis={"type": "category"},
                                              yaxis={"tickformat": _fmt(first) if first else None,
                                                     "rangemode": "tozero"}, **_right_axis(series))}


def _area(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    return _line(report, result, lang, area=True)


def _pie(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    dims = _dim_keys(result)
    m = _columns(result, "measure")[0]
    rows = result["rows"]
    trace = {"type": "pie", "labels": [str(r.get(dims[0] + "__label")) for r in rows],
             "values": [_num(r.get(m["key"])) for r in rows], "customdata": [_point(r, dims) for r in rows],
             "hole": report.chart.hole, "sort": False, "textinfo": "label+percent",
             "hovertemplate": f"%{{label}}: %{{value:{_fmt(m)}}} (%{{percent}})<extra></extra>"}
    return {"data": [trace], "layout": _layout(result["label"], showlegend=True)}


def _funnel(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    dims = _dim_keys(result)
    rows = result["rows"]
    if not dims:  # the stages are the measures of one row (count submitted, count approved …), in their order
        measures = [c for c in _columns(result, "measure")
                    if (m := report.measure(c["key"])) is not None and m.expr is None]  # rates are not stages
        row = rows[0] if rows else {}
        stages = {"type": "funnel", "y": [m["label"] for m in measures], "x": [_num(row.get(m["key"])) for m in measures],
                  "customdata": [[m["key"]] for m in measures], "textinfo": "value+percent initial",
                  "hovertemplate": "%{y}: %{x}<extra></extra>"}
        return {"data": [stages], "layout": _layout(result["label"], yaxis={"type": "category"})}
    m = _columns(result, "measure")[0]
    trace = {"type": "funnel", "y": [str(r.get(dims[0] + "__label")) for r in rows],
             "x": [_num(r.get(m["key"])) for r in rows], "customdata": [_point(r, dims) for r in rows],
             "textinfo": "value+percent initial"}
    return {"data": [trace], "layout": _layout(result["label"], yaxis={"type": "category"})}


def _number(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    measures = _columns(result, "measure")
    row = result["rows"][0] if result["rows"] else {}
    m = measures[0]
    previous = next((c for c in result["columns"] if c["role"] == "previous" and c["key"] == m["key"] + "__previous"),
                    None)
    trace: dict[str, Any] = {"type": "indicator", "mode": "number", "value": _num(row.get(m["key"])) or 0,
                             "title": {"text": m["label"]},
                             "number": {"valueformat": _fmt(m)}}
    if previous is not None and _num(row.get(previous["key"])) is not None:
        trace["mode"] = "number+delta"
        trace["delta"] = {"reference": _num(row.get(previous["key"])), "relative": True, "valueformat": ".1%"}
    return {"data": [trace], "layout": _layout(result["label"], margin={"l": 8, "r": 8, "t": 40, "b": 8})}


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _table(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    columns = result["columns"]
    values = []
    for c in columns:
        key = c["key"] + "__label" if c["role"] == "dimension" else c["key"]
        cells = [_cell(r.get(key)) for r in result["rows"]]
        if result.get("totals"):
            total = result["totals"].get(c["key"]) if c["role"] != "dimension" else None
            cells.append(("合计" if lang == "zh" else "Total") if c is columns[0] else _cell(total))
        values.append(cells)
    trace = {"type": "table", "header": {"values": [c["label"] for c in columns], "align": "left"},
             "cells": {"values": values, "align": ["left" if c["role"] == "dimension" else "right" for c in columns]}}
    return {"data": [trace], "layout": _layout(result["label"], margin={"l": 4, "r": 4, "t": 40, "b": 4})}


def _pivot(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    dims = _dim_keys(result)
    m = _columns(result, "measure")[0]
    row_keys: list[Any] = []
    col_keys: list[Any] = []
    labels: dict[tuple[int, Any], str] = {}
    cells: dict[tuple[Any, Any], Any] = {}
    for r in result["rows"]:
        a, b = r.get(dims[0]), r.get(dims[1])
        if a not in row_keys:
            row_keys.append(a)
            labels[(0, a)] = str(r.get(dims[0] + "__label"))
        if b not in col_keys:
            col_keys.append(b)
            labels[(1, b)] = str(r.get(dims[1] + "__label"))
        cells[(a, b)] = r.get(m["key"])
    header = [""] + [labels[(1, b)] for b in col_keys]
    values = [[labels[(0, a)] for a in row_keys]]
    for b in col_keys:
        values.append([_cell(cells.get((a, b))) for a in row_keys])
    trace = {"type": "table", "header": {"values": header}, "cells": {"values": values}}
    return {"data": [trace], "layout": _layout(result["label"], margin={"l": 4, "r": 4, "t": 40, "b": 4})}


def _leaderboard(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    fig = _bar(report, result, lang, horizontal=True)
    series, _ = _series(report, result)
    for trace, s in zip(fig["data"], series):
        trace["y"] = [f"{i + 1}. {name}" for i, name in enumerate(trace["y"])]
        trace["texttemplate"] = f"%{{x:{_fmt(s['column'])}}}"  # each bar's value, formatted as its measure
        trace["textposition"] = "auto"
    fig["layout"]["showlegend"] = len(fig["data"]) > 1
    return fig


def _scatter(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    measures = {c["key"]: c for c in _columns(result, "measure")}
    keys = list(measures)
    x_key = report.chart.x or keys[0]
    y_key = report.chart.y or next(k for k in keys if k != x_key)
    dims = _dim_keys(result)
    rows = result["rows"]
    trace = {"type": "scatter", "mode": "markers", "x": [_num(r.get(x_key)) for r in rows],
             "y": [_num(r.get(y_key)) for r in rows],
             "text": [str(r.get(dims[0] + "__label")) if dims else "" for r in rows],
             "customdata": [_point(r, dims) for r in rows], "marker": {"size": 10, "opacity": 0.8},
             "hovertemplate": "%{text}<br>%{x} / %{y}<extra></extra>"}
    return {"data": [trace], "layout": _layout(result["label"],
                                               xaxis={"title": {"text": measures[x_key]["label"]},
                                                      "tickformat": _fmt(measures[x_key])},
                                               yaxis={"title": {"text": measures[y_key]["label"]},
                                                      "tickformat": _fmt(measures[y_key])})}


def _map(report: ReportSpec, result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    from forms_engine.validators import regions

    dims = _dim_keys(result)
    if _columns(result, "dimension")[0].get("level") != "province":  # zoomed into a province: its cities as bars
        return _bar(report, result, lang, horizontal=True)
    m = _columns(result, "measure")[0]
    by_code = {str(r.get(dims[0]) or "")[:2]: r for r in result["rows"] if r.get(dims[0])}
    xs, ys, text, values, custom = [], [], [], [], []
    for prefix, (row, col) in sorted(PROVINCE_TILES.items()):
        region = regions.lookup(prefix + "0000")
        name = region.name if region is not None else _OUTSIDE_DATA.get(prefix, prefix)
        hit = by_code.get(prefix)
        xs.append(col)
        ys.append(row)
        value = _num(hit.get(m["key"])) if hit else None
        values.append(value)
        short = name.replace("省", "").replace("市", "").replace("自治区", "").replace("特别行政区", "")
        text.append(short[:3])
        custom.append([hit.get(dims[0])] if hit else [None])
    shown = [v for v in values if v is not None]
    top = max(shown) if shown else 1
    # light for little, dark for much (plotly.js's named "Blues" runs the other way); labels stay readable
    ink = ["#ffffff" if v is not None and top and v > top * _DARK_FROM else "#1f2937" for v in values]
    trace = {"type": "scatter", "mode": "markers+text", "x": xs, "y": ys, "text": text, "customdata": custom,
             "textfont": {"size": 11, "color": ink},
             "marker": {"symbol": "square", "size": 36, "color": [v if v is not None else 0 for v in values],
                        "colorscale": MAP_SCALE, "cmin": 0, "cmax": top, "showscale": True,
                        "line": {"width": 1, "color": "#ffffff"}},
             "hovertemplate": "%{text}: %{marker.color:" + _fmt(m) + "}<extra></extra>"}
    layout = _layout(result["label"], xaxis={"visible": False, "range": [-0.7, 8.7]},
                     yaxis={"visible": False, "autorange": "reversed", "scaleanchor": "x"}, showlegend=False)
    return {"data": [trace], "layout": layout}


#: tiles of the map whose regions the region data leaves out (it has no codes below them)
_OUTSIDE_DATA = {"71": "台湾", "81": "香港", "82": "澳门"}
#: the map's colours from no value to the largest (ColorBrewer's Blues): the more, the darker
MAP_SCALE = [[0.0, "#f7fbff"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1.0, "#08306b"]]
#: tiles above this share of the largest value are dark enough to need white labels
_DARK_FROM = 0.55


_BUILDERS = {"bar": _bar, "line": _line, "area": _area, "pie": _pie, "donut": _pie, "funnel": _funnel,
             "number": _number, "table": _table, "pivot": _pivot, "leaderboard": _leaderboard, "scatter": _scatter,
             "map": _map}
