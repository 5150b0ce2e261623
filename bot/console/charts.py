"""Charts drawn as SVG on the server: no script, no CDN, readable without colour.

Every series has its own fill pattern (solid, hatching, dots …) and a legend swatch,
every bar has a text title with its value, and the page puts the same numbers in a
table beside the chart. A hidden small count draws no bar and is marked "<5".

For a right-to-left console language (Arabic) every chart is mirrored: time runs from
right to left, labels sit on the right, bars grow to the left. Each chart is laid out
left to right and every x coordinate is then mirrored; the SVG's ``direction`` turns with
it, so a text anchored at its "end" still extends away from the plot. "<5" is kept in one
left-to-right piece (an isolate) so it reads the same in both directions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from bot.console.stats import Figures
from bot.counts import SUPPRESS_BELOW

WIDTH = 760
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 64
HIDDEN = f"<{SUPPRESS_BELOW}"
_PATTERNS = (
    '<rect width="8" height="8" fill="#1d3f6e"/>',
    '<rect width="8" height="8" fill="#fff"/><path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" '
    'stroke="#7a2e00" stroke-width="2"/>',
    '<rect width="8" height="8" fill="#fff"/><circle cx="4" cy="4" r="2" fill="#225c2a"/>',
    '<rect width="8" height="8" fill="#fff"/><path d="M0,0 L8,8 M8,0 L0,8" stroke="#5b2a86" '
    'stroke-width="1.5"/>',
    '<rect width="8" height="8" fill="#fff"/><path d="M0,4 H8" stroke="#333" stroke-width="2"/>',
    '<rect width="8" height="8" fill="#fff"/><path d="M4,0 V8" stroke="#8a5a00" stroke-width="2"/>',
)


_LRI, _PDI = "\u2066", "\u2069"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


@dataclass(frozen=True, slots=True)
class _Side:
    """Where x coordinates go: as laid out (left to right) or mirrored (right to left)."""

    width: float
    rtl: bool

    def x(self, at: float) -> float:
        """A point: a text's anchor, a line's end."""
        return self.width - at if self.rtl else at

    def left(self, at: float, size: float) -> float:
        """The left edge of a box laid out from ``at`` with ``size``."""
        return self.width - at - size if self.rtl else at

    @property
    def hidden(self) -> str:
        return _e(f"{_LRI}{HIDDEN}{_PDI}" if self.rtl else HIDDEN)


def _defs(chart_id: str, count: int) -> str:
    patterns = "".join(
        f'<pattern id="{chart_id}-p{i}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f"{_PATTERNS[i % len(_PATTERNS)]}</pattern>"
        for i in range(count)
    )
    return f"<defs>{patterns}</defs>"


def _scale(top: int) -> tuple[int, list[int]]:
    """A round maximum for the axis and its gridlines."""
    if top <= 0:
        return 5, [0, 5]
    step = 10 ** max(0, int(math.log10(top)) - 0)
    for factor in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10):
        candidate = max(1, int(step * factor))
        if top / candidate <= 5:
            step = candidate
            break
    ceiling = step * math.ceil(top / step)
    return ceiling, list(range(0, ceiling + 1, step))


def _frame(
    chart_id: str, title: str, body: str, series: int, width: int, height: int, side: _Side
) -> Markup:
    # Every text that goes in was escaped by _e(); numbers and ids are the code's own.
    direction = "rtl" if side.rtl else "ltr"
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title" direction="{direction}" '
        f'class="chart" id="{chart_id}-svg"><title id="{chart_id}-title">{_e(title)}</title>'
        f"{_defs(chart_id, series)}{body}</svg>"
    )


def _legend(chart_id: str, names: Sequence[str], y: int, side: _Side) -> str:
    parts = []
    x = LEFT
    for i, name in enumerate(names):
        parts.append(
            f'<rect x="{side.left(x, 14)}" y="{y}" width="14" height="14" '
            f'fill="url(#{chart_id}-p{i})" stroke="#111"/>'
            f'<text x="{side.x(x + 18)}" y="{y + 12}" font-size="12">{_e(name)}</text>'
        )
        x += 28 + 7 * len(name)
    return "".join(parts)


def columns(
    chart_id: str,
    title: str,
    figures: Figures,
    *,
    category_label: Callable[[str], str],
    series_label: Callable[[str], str],
    series: Sequence[str] | None = None,
    rtl: bool = False,
) -> Markup:
    """Grouped vertical columns: one group per category (a day), one column per series."""
    chosen = [s for s in figures.series if series is None or s.key in series]
    width, height = WIDTH, HEIGHT
    side = _Side(width, rtl)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    shown = [v for s in chosen for v in s.values if v is not None]
    ceiling, ticks = _scale(max(shown, default=0))
    parts: list[str] = []
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / ceiling
        parts.append(
            f'<line x1="{side.x(LEFT)}" x2="{side.x(width - RIGHT)}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#bbb"/><text x="{side.x(LEFT - 6)}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end">{tick}</text>'
        )
    groups = max(1, len(figures.categories))
    group_w = plot_w / groups
    bar_w = max(2.0, (group_w - 4) / max(1, len(chosen)))
    every = max(1, math.ceil(groups / 14))
    for g, category in enumerate(figures.categories):
        x0 = LEFT + g * group_w + 2
        for i, s in enumerate(chosen):
            value = s.values[g]
            x = x0 + i * bar_w
            label = f"{category_label(category)}, {series_label(s.key)}: "
            if value is None:
                parts.append(
                    f'<text x="{side.x(x + bar_w / 2):.1f}" y="{TOP + plot_h - 3}" font-size="9" '
                    f'text-anchor="middle" data-value="{_e(HIDDEN)}"><title>{_e(label + HIDDEN)}'
                    f"</title>{side.hidden if bar_w >= 14 else '·'}</text>"
                )
                continue
            h = plot_h * value / ceiling
            parts.append(
                f'<rect x="{side.left(x, bar_w - 1):.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="url(#{chart_id}-p{i})" stroke="#111" stroke-width="0.5" '
                f'data-series="{_e(s.key)}" data-category="{_e(category)}" data-value="{value}">'
                f"<title>{_e(label)}{value}</title></rect>"
            )
        if g % every == 0:
            parts.append(
                f'<text x="{side.x(x0 + (group_w - 4) / 2):.1f}" y="{TOP + plot_h + 14}" font-size="11" '
                f'text-anchor="middle">{_e(category_label(category))}</text>'
            )
    parts.append(
        f'<line x1="{side.x(LEFT)}" x2="{side.x(width - RIGHT)}" y1="{TOP + plot_h}" '
        f'y2="{TOP + plot_h}" stroke="#111"/>'
    )
    parts.append(_legend(chart_id, [series_label(s.key) for s in chosen], height - 26, side))
    return _frame(chart_id, title, "".join(parts), len(chosen), width, height, side)


def bars(
    chart_id: str,
    title: str,
    figures: Figures,
    *,
    category_label: Callable[[str], str],
    rtl: bool = False,
) -> Markup:
    """Horizontal bars for one series, one bar per category, its value written beside it."""
    values = figures.series[0].values if figures.series else ()
    row_h = 22
    width = WIDTH
    side = _Side(width, rtl)
    label_w = 190
    height = TOP + row_h * max(1, len(figures.categories)) + 12
    shown = [v for v in values if v is not None]
    ceiling, _ = _scale(max(shown, default=0))
    plot_w = width - label_w - 60
    parts: list[str] = []
    for r, category in enumerate(figures.categories):
        y = TOP + r * row_h
        name = category_label(category)
        parts.append(
            f'<text x="{side.x(label_w - 8)}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{_e(name)}</text>"
        )
        value = values[r]
        if value is None:
            parts.append(
                f'<text x="{side.x(label_w + 4)}" y="{y + 15}" font-size="12" '
                f'data-value="{_e(HIDDEN)}">{side.hidden}</text>'
            )
            continue
        w = plot_w * value / ceiling
        parts.append(
            f'<rect x="{side.left(label_w, w):.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="url(#{chart_id}-p0)" stroke="#111" stroke-width="0.5" '
            f'data-category="{_e(category)}" data-value="{value}"><title>{_e(name)}: {value}</title>'
            f'</rect><text x="{side.x(label_w + w + 6):.1f}" y="{y + 15}" font-size="12">'
            f"{value}</text>"
        )
    return _frame(chart_id, title, "".join(parts), 1, width, height, side)


def grid(
    chart_id: str,
    title: str,
    figures: Figures,
    *,
    row_label: Callable[[str], str],
    rtl: bool = False,
) -> Markup:
    """Weekday rows by hour columns; each cell's number is written in it, darker when larger."""
    cell_w, cell_h, label_w = 28, 24, 110
    width = label_w + cell_w * len(figures.series) + 8
    side = _Side(width, rtl)
    height = TOP + cell_h * (len(figures.categories) + 1) + 8
    shown = [v for s in figures.series for v in s.values if v is not None]
    top = max(shown, default=0) or 1
    parts: list[str] = []
    for c, s in enumerate(figures.series):
        parts.append(
            f'<text x="{side.x(label_w + c * cell_w + cell_w / 2)}" y="{TOP + 12}" font-size="11" '
            f'text-anchor="middle">{_e(s.key)}</text>'
        )
    for r, category in enumerate(figures.categories):
        y = TOP + cell_h * (r + 1)
        parts.append(
            f'<text x="{side.x(label_w - 8)}" y="{y + 16}" font-size="12" text-anchor="end">'
            f"{_e(row_label(category))}</text>"
        )
        for c, s in enumerate(figures.series):
            value = s.values[r]
            x = label_w + c * cell_w
            if value is None:
                shade, text = "#fff", ""
            else:
                level = 255 - int(170 * value / top)
                shade, text = f"rgb({level},{level},{level})", str(value)
            ink = "#fff" if value is not None and value / top > 0.6 else "#111"
            parts.append(
                f'<rect x="{side.left(x, cell_w - 1)}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="{shade}" '
                f'stroke="#999" data-value="{_e(text or HIDDEN)}"><title>'
                f"{_e(row_label(category))} {_e(s.key)}: {_e(text or HIDDEN)}</title></rect>"
                f'<text x="{side.x(x + cell_w / 2)}" y="{y + 16}" font-size="10" text-anchor="middle" '
                f'fill="{ink}">{_e(text)}</text>'
            )
    return _frame(chart_id, title, "".join(parts), 0, width, height, side)
