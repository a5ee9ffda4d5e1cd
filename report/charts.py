"""Inline SVG charts for self-contained HTML reports: no script, no external request, printable.

Each function returns SVG markup with a <title> for screen readers; every text is escaped.
Colours follow the report's status scale (green/amber/red) and keep contrast in print.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

STATUS_COLOURS = {"green": "#1a7f37", "amber": "#b7791f", "red": "#c53030", "none": "#6b7280"}
PALETTE = ["#1d4ed8", "#0f766e", "#a16207", "#b91c1c", "#6d28d9", "#374151"]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    """What is printed at the end of the bar (already formatted)."""
    status: str = "none"
    target: float | None = None


def bar_chart(title: str, bars: list[Bar], lo: float = 0.0, hi: float = 1.0, width: int = 640) -> str:
    """Horizontal bars between lo and hi, with an optional target tick per bar (e.g. uptime vs SLO)."""
    row, label_w, text_w = 22, 220, 90
    plot_w = width - label_w - text_w
    height = row * len(bars) + 10
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return label_w + plot_w * min(max((v - lo) / span, 0.0), 1.0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>']
    for i, b in enumerate(bars):
        y = 5 + i * row
        colour = STATUS_COLOURS.get(b.status, STATUS_COLOURS["none"])
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                   f"{escape(b.label[:34])}</text>")
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{plot_w}" height="{row - 8}" fill="#eef0f3"/>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{x(b.value) - label_w:.1f}" height="{row - 8}" '
                   f'fill="{colour}"/>')
        if b.target is not None:
            tx = x(b.target)
            out.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + row - 2}" '
                       'stroke="#111" stroke-width="2"/>')
        out.append(f'<text x="{label_w + plot_w + 6}" y="{y + 15}" font-size="12">{escape(b.text)}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_bar(title: str, segments: list[tuple[str, float, str]], width: int = 640) -> str:
    """One 100% bar split into (label, count, formatted text) segments, with a legend underneath."""
    total = sum(max(v, 0) for _, v, _ in segments) or 1.0
    height = 30 + 20 * ((len(segments) + 2) // 3)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>']
    x = 0.0
    for i, (_, v, _) in enumerate(segments):
        w = width * max(v, 0) / total
        out.append(f'<rect x="{x:.1f}" y="2" width="{w:.1f}" height="20" fill="{PALETTE[i % len(PALETTE)]}"/>')
        x += w
    for i, (label, _, text) in enumerate(segments):
        lx, ly = (i % 3) * (width // 3), 40 + (i // 3) * 20
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly}" font-size="12">{escape(label)}: {escape(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(title: str, points: list[tuple[str, float | None]], lo: float, hi: float,
               fmt: str = "{:.0%}", width: int = 640, height: int = 160) -> str:
    """A trend line over labelled points (None = no data, drawn as a gap)."""
    pad_l, pad_r, pad_b, pad_t = 40, 30, 24, 10
    n = max(len(points) - 1, 1)
    span = (hi - lo) or 1.0

    def xy(i: int, v: float) -> tuple[float, float]:
        px = pad_l + (width - pad_l - pad_r) * i / n
        py = pad_t + (height - pad_t - pad_b) * (1 - (min(max(v, lo), hi) - lo) / span)
        return px, py

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>']
    for bound in (lo, hi):
        _, py = xy(0, bound)
        out.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{py:.1f}" y2="{py:.1f}" stroke="#d1d5db"/>')
        out.append(f'<text x="{pad_l - 4}" y="{py + 4:.1f}" text-anchor="end" font-size="10">'
                   f"{escape(fmt.format(bound))}</text>")
    path, pen_up = [], True
    for i, (label, v) in enumerate(points):
        px, _ = xy(i, lo)
        out.append(f'<text x="{px:.1f}" y="{height - 6}" text-anchor="middle" font-size="10">{escape(label)}</text>')
        if v is None:
            pen_up = True
            continue
        px, py = xy(i, v)
        path.append(f"{'M' if pen_up else 'L'}{px:.1f},{py:.1f}")
        pen_up = False
        out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{PALETTE[0]}"><title>{escape(label)}: '
                   f"{escape(fmt.format(v))}</title></circle>")
    if path:
        out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)
