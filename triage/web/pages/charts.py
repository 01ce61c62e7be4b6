"""The dashboard's charts as inline SVG, drawn here from the figures (no chart library, no
image requests, nothing fetched from the internet). The browser lays out the Chinese labels
with the page's own fonts. Every piece of text goes through ``escape``: labels come from the
database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape

__all__ = ["confusion_svg", "departments_svg", "volume_svg"]

# matplotlib's tab20, the colours the PNG charts had.
PALETTE = (
    "#1f77b4",
    "#aec7e8",
    "#ff7f0e",
    "#ffbb78",
    "#2ca02c",
    "#98df8a",
    "#d62728",
    "#ff9896",
    "#9467bd",
    "#c5b0d5",
    "#8c564b",
    "#c49c94",
    "#e377c2",
    "#f7b6d2",
    "#7f7f7f",
    "#c7c7c7",
    "#bcbd22",
    "#dbdb8d",
    "#17becf",
    "#9edae5",
)
Name = Callable[[str], str]
FONT = 'font-size="11"'


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" class="chart-svg">{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: Any, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(str(text))}</text>'


def _empty(label: str) -> Markup:
    return _svg(400, 60, label, [_text(200, 35, "本期没有工单", "middle", 'fill="#666"')])


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out = []
    for i, (colour, text) in enumerate(items):
        top = y + 16 * i
        out.append(f'<rect x="{x:.1f}" y="{top - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, top, text))
    return out


def volume_svg(rows: list[tuple[date, str]], days: list[date], name: Name, label: str) -> Markup:
    """Tickets per day, stacked by category (``rows``: one (day, category) per ticket)."""
    if not rows or not days:
        return _empty(label)
    counts = Counter(rows)
    categories = sorted({c for _, c in rows})
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(categories)}
    totals = [sum(counts[(d, c)] for c in categories) for d in days]
    top = max(totals) or 1
    left, plot_w, plot_h, legend_w = 36, 520, 200, 170
    height = max(plot_h + 40, 16 * len(categories) + 20)
    step = plot_w / len(days)
    body = [
        f'<line x1="{left}" y1="{plot_h + 10}" x2="{left + plot_w}" y2="{plot_h + 10}" stroke="#999"/>',
        _text(left - 4, 16, top, "end"),
        _text(left - 4, plot_h + 10, 0, "end"),
    ]
    for i, day in enumerate(days):
        base = plot_h + 10.0
        for c in categories:
            n = counts[(day, c)]
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            tip = f"{day.isoformat()} {name(c)}：{n} 件"
            body.append(
                f'<rect x="{left + i * step + 1:.1f}" y="{base:.1f}" width="{max(step - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{colour[c]}"><title>{escape(tip)}</title></rect>'
            )
        if i % max(1, len(days) // 6) == 0:
            body.append(_text(left + (i + 0.5) * step, plot_h + 26, day.strftime("%m-%d"), "middle"))
    body += _legend([(colour[c], name(c)) for c in categories], left + plot_w + 16, 16)
    return _svg(left + plot_w + legend_w, height, label, body)


def departments_svg(load: dict[str, dict[str, int]], name: Name, label: str) -> Markup:
    """Per department: tickets of the period, still open, overdue (bars side by side)."""
    if not load:
        return _empty(label)
    bars = (("tickets", "#9ecae1", "工单"), ("open", "#3182bd", "未办结"), ("overdue", "#de2d26", "超期"))
    names = sorted(load, key=lambda d: (-load[d]["tickets"], d))
    top = max(load[d]["tickets"] for d in names) or 1
    left, plot_w, row_h = 150, 330, 30
    body: list[str] = []
    for r, dept in enumerate(names):
        y = 10 + r * row_h
        body.append(_text(left - 6, y + 15, name(dept), "end"))
        for b, (key, colour, title) in enumerate(bars):
            n = load[dept][key]
            w = plot_w * n / top
            body.append(
                f'<rect x="{left}" y="{y + 2 + 8 * b}" width="{w:.1f}" height="7" fill="{colour}">'
                f"<title>{escape(f'{name(dept)} {title}：{n}')}</title></rect>"
            )
        body.append(_text(left + plot_w * load[dept]["tickets"] / top + 4, y + 12, load[dept]["tickets"]))
    legend_y = 10 + len(names) * row_h + 12
    body += _legend([(colour, title) for _, colour, title in bars], left, legend_y)
    return _svg(left + plot_w + 50, legend_y + 16 * len(bars), label, body)


def confusion_svg(pairs: list[tuple[str, str]], name: Name, label: str) -> Markup:
    """Prediction (columns) against the reviewer's label (rows), count per cell."""
    if not pairs:
        return _svg(400, 60, label, [_text(200, 35, "本期没有复核过的工单", "middle", 'fill="#666"')])
    labels = sorted({p for p, _ in pairs} | {v for _, v in pairs})
    counts = Counter(pairs)
    most = max(counts.values())
    cell, left, top = 26, 130, 120
    n = len(labels)
    body = [
        _text(left + n * cell / 2, 12, "模型判断 →", "middle", 'fill="#666"'),
        _text(8, top - 6, "复核结论 ↓", "start", 'fill="#666"'),
    ]
    for j, lab in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(_text(x, top - 6, name(lab), "start", f'transform="rotate(-60 {x:.1f} {top - 6})"'))
    for i, verified in enumerate(labels):
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2 + 4, name(verified), "end"))
        for j, predicted in enumerate(labels):
            k = counts[(predicted, verified)]
            shade = 0.08 + 0.92 * k / most if k else 0.0
            fill = f"rgba(33,113,181,{shade:.2f})" if k else "#f5f5f5"
            tip = f"复核 {name(verified)}，模型 {name(predicted)}：{k} 件"
            body.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if k:
                ink = 'fill="#fff"' if shade > 0.55 else ""
                body.append(_text(left + j * cell + cell / 2, y + cell / 2 + 4, k, "middle", ink))
    return _svg(left + n * cell + 10, top + n * cell + 10, label, body)
