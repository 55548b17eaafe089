"""Reference-vs-current distributions for the dashboard, rebuilt from the stored sketches.

Approximate by construction: a numeric sketch holds counts over ~1,000 fine bins fitted on
the reference; here each bin's count is spread evenly over its range and regrouped into
equal-width display bins. Categories beyond the MAX_CATEGORIES most common are left out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from monitor.drift.sketch import CategoricalSketch, CategoricalSpec, NumericSketch, NumericSpec
from monitor.web.charts import CUR_COLOUR, REF_COLOUR, chart_layout, label, short
from monitor.web.html import plot_text

DISPLAY_BINS = 40
MAX_CATEGORIES = 20


def _cdf(spec: NumericSpec, sk: NumericSketch) -> tuple[np.ndarray, np.ndarray]:
    """A piecewise-linear CDF of the sketch: counts spread evenly within each fine bin (the
    open outer bins end at the sketch's own min / max)."""
    edges = np.asarray(spec.edges, dtype=float)
    lo = min(float(sk.min), float(edges[0])) if math.isfinite(sk.min) else float(edges[0])
    hi = max(float(sk.max), float(edges[-1])) if math.isfinite(sk.max) else float(edges[-1])
    xs = np.concatenate(([lo], edges, [hi]))
    cum = np.concatenate(([0.0], np.cumsum(np.asarray(sk.counts, dtype=float))))
    return xs, cum / cum[-1]


def _quantile(xs: np.ndarray, cdf: np.ndarray, q: float) -> float:
    i = int(np.searchsorted(cdf, q))
    return float(xs[min(i, len(xs) - 1)])


def numeric_figure(
    name: str, spec: NumericSpec, ref: NumericSketch, cur: NumericSketch | None
) -> dict[str, Any]:
    sides = [("reference", ref, REF_COLOUR)]
    if cur is not None and cur.count:
        sides.append(("current", cur, CUR_COLOUR))
    prepared = [(side, *_cdf(spec, sk), colour) for side, sk, colour in sides if sk.count]
    if not prepared:
        return {"data": [], "layout": chart_layout(short(label(name)), height=230)}
    lo = min(_quantile(x, c, 0.002) for _, x, c, _ in prepared)
    hi = max(_quantile(x, c, 0.998) for _, x, c, _ in prepared)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, DISPLAY_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0])
    data = []
    for side, xs, cdf, colour in prepared:
        at = np.interp(edges, xs, cdf)
        at[0], at[-1] = 0.0, 1.0  # the outermost display bins hold the tails
        data.append(
            {
                "type": "bar",
                "name": side,
                "x": centres.tolist(),
                "y": np.diff(at).tolist(),
                "width": width,
                "marker": {"color": colour},
                "opacity": 0.55,
                "hovertemplate": f"{side}: %{{y:.1%}} near %{{x:.3g}}<extra></extra>",
            }
        )
    layout = chart_layout(
        short(label(name)),
        height=230,
        barmode="overlay",
        bargap=0,
        yaxis={"tickformat": ".0%", "title": {"text": "share"}},
    )
    return {"data": data, "layout": layout}


def categorical_figure(
    name: str, spec: CategoricalSpec, ref: CategoricalSketch, cur: CategoricalSketch | None
) -> dict[str, Any]:
    names = [*spec.categories, "(other)"]
    ref_share = np.asarray(ref.counts, dtype=float) / max(ref.count, 1)
    sides = [("reference", ref_share, REF_COLOUR)]
    if cur is not None and cur.count:
        sides.append(("current", np.asarray(cur.counts, dtype=float) / cur.count, CUR_COLOUR))
    peak = np.max(np.vstack([s for _, s, _ in sides]), axis=0)
    keep = sorted(np.argsort(-peak, kind="stable")[:MAX_CATEGORIES].tolist())
    data = [
        {
            "type": "bar",
            "name": side,
            "x": [plot_text(names[i]) for i in keep],
            "y": [float(share[i]) for i in keep],
            "marker": {"color": colour},
            "hovertemplate": f"{side}: %{{y:.1%}}<extra>%{{x}}</extra>",
        }
        for side, share, colour in sides
    ]
    layout = chart_layout(
        short(label(name)),
        height=230,
        barmode="group",
        xaxis={"type": "category"},
        yaxis={"tickformat": ".0%", "title": {"text": "share"}},
    )
    return {"data": data, "layout": layout}


def distribution_figure(name: str, spec: Any, ref: Any, cur: Any) -> dict[str, Any] | None:
    """Reference vs current for one feature, or None when the sketches do not match the spec."""
    if isinstance(spec, NumericSpec) and isinstance(ref, NumericSketch):
        if cur is not None and (not isinstance(cur, NumericSketch) or cur.spec_id != spec.spec_id):
            cur = None
        return numeric_figure(name, spec, ref, cur)
    if isinstance(spec, CategoricalSpec) and isinstance(ref, CategoricalSketch):
        if cur is not None and (
            not isinstance(cur, CategoricalSketch) or cur.spec_id != spec.spec_id
        ):
            cur = None
        return categorical_figure(name, spec, ref, cur)
    return None
