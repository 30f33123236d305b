"""A small bar chart in SVG, drawn from plain numbers: every figure is also text in the
drawing (a label over each bar, a <title> per bar for the mouse), so a page reads the same
to a screen reader, a test and a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 30, 38
BAR = "#417690"  # the admin's own blue
EMPTY = "#c9d6de"
LINE = "#ba2121"  # the admin's error red, for a threshold or a capacity
MAX_BAR = 64  # a chart of two weeks has two bars, not two walls


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (shown for every `label_every`-th bar)
    value: float | None  # None: nothing to show (drawn as a faint stub, labelled "-")
    text: str = ""  # over the bar; default the value itself
    title: str = ""  # the tooltip; default "label: text"


@dataclass(frozen=True)
class Rule:
    """A horizontal line across the chart: a threshold or a capacity."""

    value: float
    text: str


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    unit: str = "",
    y_max: float | None = None,
    rule: Rule | None = None,
    label_every: int = 1,
    show_values: bool = True,
    css_class: str = "zias-chart",
) -> str:
    """The chart as an <svg> element (a string ready to embed, every text escaped)."""
    values = [b.value for b in bars if b.value is not None]
    top = y_max or _nice_top(max([*values, rule.value if rule else 0, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(bars), 1)
    gap = min(step * 0.2, 8)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(value, top) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'style="max-width:100%;height:auto" '
        f'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="600" fill="#333">'
        f"{escape(title)}</text>",
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = top * fraction
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#e4e4e4"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'fill="#777">{_number(value)}{escape(unit)}</text>'
        )
    for i, bar in enumerate(bars):
        w = min(max(step - gap, 1), MAX_BAR)
        x = LEFT + i * step + (step - w) / 2
        text = bar.text or ("-" if bar.value is None else f"{_number(bar.value)}{unit}")
        tip = bar.title or f"{bar.label}: {text}"
        height = 2 if not bar.value else max(y(0) - y(bar.value), 1)
        fill = EMPTY if bar.value is None else BAR
        parts.append(
            f'<g class="bar" data-label="{escape(bar.label)}" data-value="{escape(text)}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{x:.1f}" y="{y(0) - height:.1f}" width="{w:.1f}" height="{height:.1f}" '
            f'rx="2" fill="{fill}"/>'
        )
        if show_values and bar.value:
            parts.append(
                f'<text class="value" x="{x + w / 2:.1f}" y="{y(bar.value) - 4:.1f}" '
                f'text-anchor="middle" fill="#333">{escape(text)}</text>'
            )
        parts.append("</g>")
        if i % label_every == 0:
            parts.append(
                f'<text class="label" x="{x + w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle" fill="#555">{escape(bar.label)}</text>'
            )
    if rule is not None:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(rule.value):.1f}" '
            f'y2="{y(rule.value):.1f}" stroke="{LINE}" stroke-dasharray="5 4"/>'
            # Its legend sits in the title row, where no bar can cover it.
            f'<line x1="{WIDTH - RIGHT - 150}" x2="{WIDTH - RIGHT - 128}" y1="12" y2="12" '
            f'stroke="{LINE}" stroke-dasharray="5 4"/>'
            f'<text class="rule" x="{WIDTH - RIGHT - 122}" y="16" fill="{LINE}">'
            f"{escape(rule.text)}</text>"
        )
    if not values:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#777" '
            f'font-size="13">Nothing to show yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice_top(highest: float) -> float:
    """The axis' top: four grid steps of 1, 2, 5, 10, 20, 50... so that the grid lines
    fall on whole numbers (counts of people are never fractions)."""
    step = 1
    while step * 4 < highest:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step * 4


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
