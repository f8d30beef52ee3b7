"""Charts for the dashboard, built from DataFrames and arrays. No Streamlit here.

Plotly figures, except the Train page's live curves: those are Vega-Lite (Altair) charts, since
they are redrawn every second while a job trains, and on a 2-core laptop the browser took about
280 ms to redraw the twelve loss panels as a plotly figure against about 20 ms as a Vega-Lite
one, time taken from training and from the page switches the user makes meanwhile.

One look everywhere: the same template, fonts and margins (`_style`), one colour per class
(`class_colors`, keyed by the class's position in the dataset's class list, so class "benign" is
the same colour on the Data, Hidden space and Samples pages) and one colour per method
(`METHOD_COLORS`, HexaGAN always in the app's primary blue).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "CLASS_PALETTE",
    "METHOD_COLORS",
    "PRIMARY",
    "class_color",
    "class_colors",
    "class_counts_figure",
    "history_frame",
    "hidden_space_figure",
    "image_grid_figure",
    "loss_frame",
    "loss_curves_chart",
    "method_color",
    "missingness_figure",
    "real_vs_generated_figure",
    "results_frame",
    "sample_quality_figure",
    "spread_figure",
    "thin",
    "study_figure",
    "study_summary",
    "triplets_figure",
    "validation_curve_chart",
]

PRIMARY = "#3b6fd4"  # .streamlit/config.toml's primaryColor
HIDDEN_CELL = "#f6c28b"  # cells the protocol hides (Data page preview)
MISSING_CELL = "#d9d9d9"  # cells missing in the source
UNKNOWN_CLASS = "#9e9e9e"

# Okabe & Ito's colour-blind-safe palette, then Tol's muted set for up to 16 classes.
CLASS_PALETTE: tuple[str, ...] = (
    "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2",
    "#D55E00", "#F0E442", "#000000", "#882255", "#44AA99",
    "#999933", "#AA4499", "#117733", "#332288", "#DDCC77", "#88CCEE",
)  # fmt: skip

METHOD_COLORS: dict[str, str] = {
    "hexagan": PRIMARY,
    "gain": "#D55E00",
    "mice": "#009E73",
    "knn": "#CC79A7",
    "mean": "#7f7f7f",
    "zero": "#bcbd22",
    "missforest": "#8c564b",
}

_UNKNOWN_NAMES = frozenset({"unknown", "n/a", "unlabelled", ""})


def class_color(class_name: Any, class_names: Sequence[Any]) -> str:
    """The colour of `class_name`: its position in the dataset's class list picks the colour."""
    names = [str(n) for n in class_names]
    name = str(class_name)
    if name in names:
        return CLASS_PALETTE[names.index(name) % len(CLASS_PALETTE)]
    return UNKNOWN_CLASS


def class_colors(class_names: Sequence[Any], extra: Iterable[Any] = ()) -> dict[str, str]:
    """{class name: colour} for every class, plus grey for `extra` names such as "unknown"."""
    colors = {str(n): class_color(n, class_names) for n in class_names}
    for name in extra:
        colors.setdefault(str(name), UNKNOWN_CLASS)
    return colors


def method_color(method: str) -> str:
    return METHOD_COLORS.get(method, "#17becf")


def _style(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title=None
        if title is None
        else {"text": title, "x": 0, "xanchor": "left", "y": 0.985, "yanchor": "top",
              "yref": "container"},
        height=height,
        margin={"l": 10, "r": 10, "t": 80 if title else 30, "b": 10},
        font={"size": 13},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
    )
    return fig


# --- Data page ----------------------------------------------------------------------------------


def missingness_figure(summary: pd.DataFrame, top: int = 20) -> go.Figure:
    """Horizontal bars of the real missing share per column (`summary`: column, missing_pct)."""
    shown = summary[summary["missing_pct"] > 0]
    shown = shown.sort_values("missing_pct", ascending=False, kind="stable").head(top)
    fig = go.Figure(
        go.Bar(
            x=shown["missing_pct"],
            y=shown["column"].astype(str),
            orientation="h",
            marker={"color": MISSING_CELL, "line": {"color": "#7f7f7f", "width": 1}},
            hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category", tickfont={"size": 11})
    fig.update_xaxes(rangemode="tozero", ticksuffix=" %", title_text="missing in the file")
    title = "Missing in the file, per column"
    incomplete = int((summary["missing_pct"] > 0).sum())
    if incomplete > top:
        title += f"<br><sup>the {top} most incomplete of {incomplete} columns</sup>"
    return _style(fig, title, height=130 + 22 * len(shown))


def class_counts_figure(labels: pd.Series, class_names: Sequence[str]) -> go.Figure:
    """Rows per class, in the class colours ("unlabelled" in grey)."""
    counts = labels.value_counts().reindex([*class_names, "unlabelled"]).dropna()
    frame = counts.rename("rows").rename_axis("class").reset_index()
    fig = px.bar(
        frame,
        x="class",
        y="rows",
        color="class",
        color_discrete_map=class_colors(class_names, ["unlabelled"]),
        labels={"rows": "rows"},
    )
    fig.update_layout(showlegend=False)
    fig.update_xaxes(type="category")
    return _style(fig, "Rows per class", height=300)


# --- Train page ---------------------------------------------------------------------------------


def thin(history: Sequence[dict[str, Any]], max_points: int = 400) -> list[dict[str, Any]]:
    """The reports of at most about `max_points` iterations, evenly spaced, always with the
    latest one; each kept iteration with every report it has (one per imputation model).

    The live charts are rebuilt every second; with eval_every=1 a long run has tens of
    thousands of reports, which no chart needs.
    """
    history = list(history)
    iterations = list(dict.fromkeys(report["iteration"] for report in history))
    if len(iterations) <= max_points:
        return history
    step = -(-len(iterations) // max_points)
    kept = {*iterations[::step], iterations[-1]}
    return [report for report in history if report["iteration"] in kept]


def history_frame(history: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per training report: iteration, seconds and the validation scores."""
    rows = [
        {k: v for k, v in report.items() if k != "losses" and not isinstance(v, dict)}
        for report in history
    ]
    return pd.DataFrame(rows, columns=None if rows else ["iteration", "seconds"])


def loss_frame(history: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Long format: iteration, loss (name), value, and the imputation model (0 for a run of
    one model)."""
    rows = [
        {"iteration": report["iteration"], "loss": name, "value": value,
         "imputation": report.get("imputation", 0)}
        for report in history
        for name, value in (report.get("losses") or {}).items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["iteration", "loss", "value", "imputation"])


def _one_line_per_imputation(frame: pd.DataFrame) -> dict[str, Any]:
    """Encodings that draw a line per imputation model, where a run has several (an ensemble's
    members report one by one; one line through them all would zigzag)."""
    if "imputation" not in frame or frame["imputation"].nunique() < 2:
        return {}
    return {"detail": alt.Detail("imputation:N")}


VALIDATION_CURVES: dict[str, tuple[str, str]] = {
    "val_rmse": ("Validation RMSE (lower is better)", PRIMARY),
    "val_f1": ("Validation F1 (higher is better)", "#009E73"),
}


def validation_curve_chart(history: pd.DataFrame, metric: str) -> alt.Chart:
    """One validation score against the iteration, or a grey note where there is none yet."""
    title, color = VALIDATION_CURVES[metric]
    if metric in history and history[metric].notna().any():
        columns = ["iteration", metric, *(["imputation"] if "imputation" in history else [])]
        points = history[columns].dropna(subset=[metric])
        chart = (
            alt.Chart(points)
            .mark_line(color=color, strokeWidth=2, point=alt.OverlayMarkDef(color=color, size=30))
            .encode(
                x=alt.X("iteration:Q", title="iteration"),
                y=alt.Y(f"{metric}:Q", title=None, scale=alt.Scale(zero=False)),
                tooltip=[*columns[2:], "iteration:Q", alt.Tooltip(f"{metric}:Q", format=".4f")],
                **_one_line_per_imputation(points),
            )
        )
    else:
        note = "not applicable" if len(history) else "waiting for the first report"
        chart = (
            alt.Chart(pd.DataFrame({"note": [note]}))
            .mark_text(color="#7f7f7f", fontSize=14)
            .encode(text="note:N")
        )
    return chart.properties(title=title, height=260, width="container")


# Which network each loss component trains (train.py's names), for the panel colours.
_LOSS_OWNER = {
    "d_mi": "D_MI", "d_mi_label": "D_MI", "gp_mi": "D_MI",
    "g_mi": "E, G_MI", "recon": "E, G_MI",
    "d_cg": "D_CG", "gp_cg": "D_CG",
    "g_cg": "G_CG", "g_mi_c": "G_CG", "ce_c": "G_CG",
    "ce": "C", "c_adv": "C",
}  # fmt: skip
_OWNER_COLORS = {"D_MI": "#1f4e9e", "E, G_MI": PRIMARY, "D_CG": "#b36b00", "G_CG": "#E69F00",
                 "C": "#009E73"}  # fmt: skip


def loss_curves_chart(losses: pd.DataFrame, columns: int = 4) -> alt.FacetChart:
    """One small panel per loss component (its own y scale), coloured by the network it trains.

    `losses` is `loss_frame`'s long format. The panels keep the order of first appearance.
    """
    names = list(dict.fromkeys(losses["loss"]))
    data = losses.assign(network=losses["loss"].map(_LOSS_OWNER).fillna("other"))
    networks = list(dict.fromkeys(data["network"]))
    panel = (
        alt.Chart(data)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("iteration:Q", title=None),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False), axis=alt.Axis(format="~g")),
            color=alt.Color(
                "network:N",
                scale=alt.Scale(domain=networks,
                                range=[_OWNER_COLORS.get(n, "#7f7f7f") for n in networks]),
                legend=alt.Legend(orient="top", title="trains"),
            ),
            tooltip=["loss:N", "iteration:Q", alt.Tooltip("value:Q", format=".4g")],
            **_one_line_per_imputation(data),
        )
        .properties(width=180, height=110)
    )
    return panel.facet(
        facet=alt.Facet("loss:N", sort=names, title=None, header=alt.Header(labelFontSize=12)),
        columns=columns,
    ).resolve_scale(y="independent")


_METRICS = ("rmse", "rmse_row", "mae", "f1", "roc_auc", "accuracy", "seconds")


def results_frame(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """report["results"] as a table: one row per method, HexaGAN first."""
    frame = pd.DataFrame.from_dict(results, orient="index")
    frame = frame.reindex(columns=[c for c in _METRICS if c in frame.columns])
    frame.index.name = "method"
    return frame.reset_index()


def spread_figure(spread: pd.DataFrame) -> go.Figure:
    """Heat map of each imputed cell's spread across the imputation models: rows x features
    (`RunResult.test_spread`, min-max units); observed cells (NaN) are left blank."""
    fig = go.Figure(
        go.Heatmap(
            z=spread.to_numpy(dtype=float), x=[str(c) for c in spread.columns],
            y=list(range(len(spread))), colorscale="Blues", zmin=0, hoverongaps=False,
            colorbar={"title": {"text": "std"}},
            hovertemplate="test row %{y}, %{x}: %{z:.4f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="test row")
    fig.update_xaxes(type="category", tickfont={"size": 10})
    title = ("How far the imputation models disagree on each imputed cell<br><sup>standard "
             "deviation of their values, min-max units; blank: observed</sup>")  # fmt: skip
    return _style(fig, title, height=260 + 8 * len(spread))


# --- Hidden space -------------------------------------------------------------------------------

_SOURCE_SYMBOLS = {
    "labelled": "circle",
    "unlabelled": "circle-open",
    "generated": "x",
    "observed": "circle",
}


def _with_class_colors(
    frame: pd.DataFrame, class_names: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """`frame` with its class column as text, the class colours, and the class order (known
    classes first, then grey extras such as "unknown")."""
    frame = frame.assign(**{"class": frame["class"].astype(str)})
    extra = sorted(set(frame["class"]) - {str(n) for n in class_names})
    return frame, class_colors(class_names, extra), [str(n) for n in class_names] + extra


def hidden_space_figure(points: pd.DataFrame, class_names: Sequence[str], method: str) -> go.Figure:
    """Embedded points (x, y, class, source): colour = class, marker = where the point came from."""
    frame, colors, order = _with_class_colors(points, class_names)
    fig = px.scatter(
        frame,
        x="x",
        y="y",
        color="class",
        symbol="source",
        symbol_map=_SOURCE_SYMBOLS,
        color_discrete_map=colors,
        category_orders={
            "class": order,
            "source": [s for s in _SOURCE_SYMBOLS if s in set(frame["source"])],
        },
        opacity=0.75,
        labels={"x": f"{method} 1", "y": f"{method} 2"},
        hover_data={"x": False, "y": False, "class": True, "source": True},
    )
    fig.update_traces(marker={"size": 7})
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    return _style(fig, None, height=560)


# --- Samples ------------------------------------------------------------------------------------


def _tile(images: np.ndarray, pad: int = 2) -> np.ndarray:
    """(rows, cols, H, W) -> one (rows*(H+pad), cols*(W+pad)) image with NaN gutters."""
    rows, cols, height, width = images.shape
    canvas = np.full((rows * (height + pad) - pad, cols * (width + pad) - pad), np.nan)
    for r in range(rows):
        for c in range(cols):
            top, left = r * (height + pad), c * (width + pad)
            canvas[top : top + height, left : left + width] = images[r, c]
    return canvas


def image_grid_figure(
    images: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    row_colors: Sequence[str] | None = None,
) -> go.Figure:
    """A grid of grey images (rows, cols, H, W) in [0, 1]; NaN pixels show as the page background.

    Rows are labelled on the left (in `row_colors`, e.g. the class colours), columns on top.
    """
    rows, cols, height, width = images.shape
    pad = max(1, height // 10)
    canvas = _tile(np.asarray(images, dtype=np.float64), pad)
    fig = go.Figure(
        go.Heatmap(
            z=canvas,
            colorscale="gray_r",
            zmin=0.0,
            zmax=1.0,
            showscale=False,
            hoverinfo="skip",
        )
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, scaleanchor="y")
    for r, label in enumerate(row_labels):
        color = row_colors[r] if row_colors else "#31333f"
        fig.add_annotation(
            x=-pad,
            y=r * (height + pad) + height / 2,
            text=f"<b>{label}</b>",
            showarrow=False,
            xanchor="right",
            font={"color": color, "size": 14},
        )
    for c, label in enumerate(col_labels or []):
        fig.add_annotation(
            x=c * (width + pad) + width / 2,
            y=-pad,
            text=label,
            showarrow=False,
            yanchor="bottom",
            font={"size": 13},
        )
    cell = 52 if height <= 8 else 44
    fig = _style(fig, title, height=max(220, rows * cell + (80 if title else 40)))
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)", margin={"l": 90, "t": 70 if title else 40})
    return fig


def triplets_figure(triplets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> go.Figure:
    """Original, masked (missing pixels in orange) and imputed images, one triplet per row."""
    stack = np.stack([np.stack(t) for t in triplets])  # (n, 3, H, W)
    n, _, height, width = stack.shape
    pad = max(1, height // 10)
    masked = np.isnan(stack[:, 1])
    canvas = _tile(np.nan_to_num(stack, nan=0.0), pad)
    highlight = np.full_like(canvas, np.nan)
    for r in range(n):
        top, left = r * (height + pad), 1 * (width + pad)
        block = highlight[top : top + height, left : left + width]
        block[masked[r]] = 1.0
    fig = go.Figure(
        [
            go.Heatmap(z=canvas, colorscale="gray_r", zmin=0, zmax=1, showscale=False,
                       hoverinfo="skip"),
            go.Heatmap(z=highlight, colorscale=[[0, HIDDEN_CELL], [1, HIDDEN_CELL]],
                       showscale=False, hoverinfo="skip"),
        ]
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, scaleanchor="y")
    for c, label in enumerate(("original", "masked", "imputed")):
        fig.add_annotation(
            x=c * (width + pad) + width / 2, y=-pad, text=label, showarrow=False,
            yanchor="bottom", font={"size": 13},
        )  # fmt: skip
    fig = _style(fig, None, height=max(260, n * 120 + 40))
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)", margin={"t": 40})
    return fig


def real_vs_generated_figure(
    frame: pd.DataFrame, column: str, class_names: Sequence[str]
) -> go.Figure:
    """Distribution of one feature: real training rows (left) against G_CG's rows (right)."""
    data, colors, order = _with_class_colors(frame, class_names)
    numeric = pd.api.types.is_numeric_dtype(data["value"])
    fig = px.histogram(
        data,
        x="value",
        color="class",
        facet_col="source",
        barmode="overlay",
        histnorm="probability density" if numeric else "probability",
        opacity=0.6,
        nbins=30 if numeric else None,
        color_discrete_map=colors,
        category_orders={
            "source": ["real", "generated"],
            "class": order,
        },
        labels={"value": column},
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.replace("source=", "")))
    fig.update_yaxes(title_text=None)
    fig.update_yaxes(title_text="density" if numeric else "share of rows", col=1)
    return _style(fig, None, height=380)


def sample_quality_figure(per_class: pd.DataFrame, class_names: Sequence[str]) -> go.Figure:
    """Agreement (top) and spread ratio (bottom) per class, in the class colours.

    `per_class`: `quality.SampleQuality.per_class` (class as the label's position in
    `class_names`, agreement, spread_ratio). Dashed lines: chance (1 / classes) and 1 (samples as
    varied as real rows).
    """
    names = [str(class_names[int(c)]) for c in per_class["class"]]
    colors = [class_color(n, class_names) for n in names]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.16,
        subplot_titles=("agreement: share of samples labelled with their class",
                        "spread ratio: generated spread / real spread"),
    )  # fmt: skip
    for row, column, text in ((1, "agreement", "%{y:.0%}"), (2, "spread_ratio", "%{y:.2f}")):
        fig.add_trace(
            go.Bar(
                x=names, y=per_class[column].tolist(), marker={"color": colors}, name=column,
                showlegend=False, hovertemplate=f"class %{{x}}: {text}<extra>{column}</extra>",
            ),
            row=row, col=1,
        )  # fmt: skip
    chance = 1 / max(1, len(class_names))
    fig.add_hline(y=chance, line={"dash": "dash", "color": "#7f7f7f", "width": 1}, row=1, col=1,
                  annotation_text=f"chance {chance:.2f}", annotation_position="top left")
    fig.add_hline(y=1.0, line={"dash": "dash", "color": "#7f7f7f", "width": 1}, row=2, col=1,
                  annotation_text="as varied as real rows", annotation_position="top left")
    largest = per_class["spread_ratio"].max()  # NaN-skipping; NaN when no class has a ratio
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=1, col=1)
    top = 1.2 if pd.isna(largest) else max(1.2, float(largest) * 1.1)
    fig.update_yaxes(range=[0, top], row=2, col=1)
    fig.update_xaxes(type="category", tickfont={"size": 12})
    fig.update_annotations(font={"size": 12})
    fig = _style(fig, None, height=430)
    fig.update_layout(margin={"t": 40})
    return fig


# --- Missing-rate study -------------------------------------------------------------------------


def study_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count of the RMSE per (rate, method) of the rows finished so far."""
    if rows.empty:
        return pd.DataFrame(columns=["rate", "method", "mean", "std", "n"])
    grouped = rows.astype({"rate": float, "rmse": float}).groupby(["rate", "method"], sort=False)
    return grouped["rmse"].agg(mean="mean", std="std", n="count").reset_index()


def study_figure(summary: pd.DataFrame, rates: Sequence[float] | None = None) -> go.Figure:
    """RMSE against the missing rate, one line per method, error bars = std over seeds."""
    fig = go.Figure()
    for method in dict.fromkeys(summary["method"]):
        part = summary[summary["method"] == method].sort_values("rate")
        fig.add_trace(
            go.Scatter(
                x=part["rate"] * 100,
                y=part["mean"],
                error_y={"type": "data", "array": part["std"].fillna(0.0), "visible": True},
                mode="lines+markers",
                name="HexaGAN" if method == "hexagan" else method,
                line={"color": method_color(method), "width": 3 if method == "hexagan" else 2},
                marker={"size": 8},
                customdata=part["n"],
                hovertemplate="%{x:.0f} %% missing<br>RMSE %{y:.4f} ± %{error_y.array:.4f}"
                "<br>%{customdata} seed(s)<extra>" + method + "</extra>",
            )
        )
    if rates:
        fig.update_xaxes(range=[min(rates) * 100 - 5, max(rates) * 100 + 5])
    fig.update_xaxes(title_text="missing rate (% of the observed entries hidden)", ticksuffix=" %")
    fig.update_yaxes(title_text="test RMSE on hidden entries (0-1 scale)", rangemode="tozero")
    return _style(fig, "Imputation error against missing rate (mean ± std over seeds)", 440)
