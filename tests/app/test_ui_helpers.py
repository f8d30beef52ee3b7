"""The ui helpers the pages share: colours, charts, field help, uploads, state and text."""

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hexagan_core.config import HexaGANConfig, field_help
from ui import charts, components
from ui import data as data_ui


def test_charts_module_does_not_import_streamlit():
    with open(charts.__file__, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "streamlit" for name in imported if name)


def test_a_class_has_one_colour_everywhere():
    names = ["malignant", "benign"]
    assert charts.class_color("benign", names) == charts.CLASS_PALETTE[1]
    assert charts.class_color("malignant", names) == charts.CLASS_PALETTE[0]
    assert charts.class_color("unknown", names) == charts.UNKNOWN_CLASS
    counts = charts.class_counts_figure(pd.Series(["benign", "malignant", "benign"]), names)
    assert {t.name: t.marker.color for t in counts.data} == charts.class_colors(names)
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5],
                           "class": ["benign", "malignant", "unknown"],
                           "source": ["labelled", "generated", "unlabelled"]})
    hidden = charts.hidden_space_figure(points, names, "t-SNE")
    assert {t.name.split(",")[0]: t.marker.color for t in hidden.data} == {
        "benign": charts.CLASS_PALETTE[1], "malignant": charts.CLASS_PALETTE[0],
        "unknown": charts.UNKNOWN_CLASS,
    }


def test_every_config_field_has_help_naming_its_symbol():
    help_texts = field_help()
    assert set(help_texts) == set(HexaGANConfig().to_dict())
    assert help_texts["alpha4"].startswith("alpha_4:")
    assert help_texts["n_cg"].startswith("n_CG:")


def test_history_and_loss_frames_and_their_figures():
    history = [{"iteration": 10 * i, "seconds": i, "losses": {"d_mi": -i, "ce": 1 / i},
                "val_rmse": 0.3 / i, "val_f1": 0.5 + i / 10} for i in range(1, 4)]
    frame = charts.history_frame(history)
    assert list(frame["iteration"]) == [10, 20, 30] and "losses" not in frame
    losses = charts.loss_frame(history)
    assert len(losses) == 6 and set(losses["loss"]) == {"d_mi", "ce"}
    for metric in ("val_rmse", "val_f1"):
        spec = charts.validation_curve_chart(frame, metric).to_dict()
        assert spec["encoding"]["y"]["field"] == metric and spec["mark"]["type"] == "line"
        assert list(_chart_rows(spec)[metric]) == list(frame[metric])
    waiting = charts.validation_curve_chart(charts.history_frame([]), "val_f1").to_dict()
    assert list(_chart_rows(waiting)["note"]) == ["waiting for the first report"]
    no_f1 = charts.validation_curve_chart(frame.drop(columns="val_f1"), "val_f1").to_dict()
    assert list(_chart_rows(no_f1)["note"]) == ["not applicable"]
    panels = charts.loss_curves_chart(losses).to_dict()
    assert panels["facet"]["sort"] == ["d_mi", "ce"]
    assert panels["resolve"]["scale"]["y"] == "independent"
    colors = panels["spec"]["encoding"]["color"]["scale"]
    assert colors["domain"] == ["D_MI", "C"]  # coloured by the network trained
    assert set(_chart_rows(panels)["network"]) == {"D_MI", "C"}


def _chart_rows(spec: dict) -> pd.DataFrame:
    """The rows an Altair chart's spec carries (inline in its `datasets`)."""
    (rows,) = spec["datasets"].values()
    return pd.DataFrame(rows)


def test_study_summary_means_and_spreads_over_seeds():
    rows = pd.DataFrame({"rate": [0.2, 0.2, 0.4, 0.4], "seed": [0, 1, 0, 1],
                         "method": ["mean"] * 4, "rmse": [0.1, 0.3, 0.2, 0.2],
                         "seconds": [1.0] * 4})
    summary = charts.study_summary(rows)
    assert list(summary["mean"]) == pytest.approx([0.2, 0.2])
    assert list(summary["std"]) == pytest.approx([np.std([0.1, 0.3], ddof=1), 0.0])
    figure = charts.study_figure(summary, [0.2, 0.4])
    assert list(figure.data[0].error_y.array) == pytest.approx(list(summary["std"]))


def test_uploads_are_saved_inside_the_upload_folder_under_a_safe_name():
    saved = data_ui.save_upload("../../etc/passwd; rm -rf *.csv", b"a,b\n1,2\n")
    path = data_ui.upload_dir().resolve()
    assert path in Path(saved.path).resolve().parents
    assert saved.path.endswith("passwd_rm_-rf_.csv")
    assert saved.name == "../../etc/passwd; rm -rf *.csv"  # shown as text, never as a path
    again = data_ui.save_upload("other.csv", b"a,b\n1,2\n")
    assert again.digest == saved.digest


def test_user_text_is_made_literal_in_markdown():
    escaped = components.escape_markdown("**bold** [x](javascript:y) :red[z] $x$")
    assert escaped == r"\*\*bold\*\* \[x\](javascript\:y) \:red\[z\] \$x\$"
    assert components.escape_markdown("gone.csv: not-found") == r"gone.csv\: not-found"


@pytest.mark.parametrize(("seconds", "text"),
                         [(None, "—"), (4.4, "0:04"), (125, "2:05"), (3725, "1:02:05")])
def test_durations(seconds, text):
    assert components.duration(seconds) == text


def test_image_grid_and_triplets_figures():
    grid = np.random.default_rng(0).random((3, 4, 8, 8))
    figure = charts.image_grid_figure(grid, ["0", "1", "2"])
    assert figure.data[0].z.shape == (3 * 8 + 2 * 1, 4 * 8 + 3 * 1)
    masked = grid[0, 0].copy()
    masked[:2] = np.nan
    triplets = charts.triplets_figure([(grid[0, 0], masked, grid[0, 1])])
    assert np.nansum(triplets.data[1].z) == 16  # the 16 hidden pixels are highlighted


def test_long_histories_are_thinned_for_the_live_charts():
    history = [{"iteration": i} for i in range(1, 10_001)]
    kept = charts.thin(history, max_points=400)
    assert len(kept) <= 401 and kept[0]["iteration"] == 1 and kept[-1]["iteration"] == 10_000
    assert charts.thin(history[:50]) == history[:50]


def test_thinning_keeps_every_imputation_models_report_of_a_kept_iteration():
    history = [{"iteration": i, "imputation": j} for i in range(1, 1001) for j in range(3)]
    kept = charts.thin(history, max_points=100)
    iterations = [r["iteration"] for r in kept]
    assert len(set(iterations)) <= 101 and iterations[-1] == 1000
    assert all(iterations.count(i) == 3 for i in set(iterations))


def test_several_imputation_models_get_a_line_each():
    history = [{"iteration": 10 * i, "seconds": i, "imputation": j, "val_rmse": 0.1 * j + 1 / i,
                "losses": {"d_mi": -i - j}} for i in range(1, 4) for j in range(2)]  # fmt: skip
    spec = charts.validation_curve_chart(charts.history_frame(history), "val_rmse").to_dict()
    assert spec["encoding"]["detail"]["field"] == "imputation"
    assert len(_chart_rows(spec)) == 6
    panels = charts.loss_curves_chart(charts.loss_frame(history)).to_dict()
    assert panels["spec"]["encoding"]["detail"]["field"] == "imputation"
    one_model = [{k: v for k, v in r.items() if k != "imputation"} for r in history[::2]]
    spec = charts.validation_curve_chart(charts.history_frame(one_model), "val_rmse").to_dict()
    assert "detail" not in spec["encoding"]
    assert "detail" not in charts.loss_curves_chart(charts.loss_frame(one_model)).to_dict()[
        "spec"]["encoding"]


def test_spread_figure_leaves_observed_cells_blank():
    spread = pd.DataFrame([[np.nan, 0.02], [0.1, np.nan], [0.0, np.nan]], columns=["a", "b=x"])
    figure = charts.spread_figure(spread)
    (heatmap,) = figure.data
    np.testing.assert_array_equal(heatmap.z, spread.to_numpy())
    assert list(heatmap.x) == ["a", "b=x"] and list(heatmap.y) == [0, 1, 2]
    assert heatmap.zmin == 0 and "disagree" in figure.layout.title.text


@pytest.mark.parametrize(
    ("report", "text"),
    [
        ({"selected_iteration": 2850}, "; networks selected at iteration 2,850 on validation "
                                       "data."),
        ({"selected_iteration": None}, "."),
        ({"selected_iteration": 300, "imputation_models": [
            {"seed": 0, "selected_iteration": 300}, {"seed": 9, "selected_iteration": 1450}]},
         "; each of the 2 imputation models selected on validation data (iterations 300, "
         "1,450)."),
    ],
)
def test_the_finished_line_says_how_the_networks_were_selected(report, text):
    assert components.selection_note(report) == text
