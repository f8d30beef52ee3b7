"""Small pieces several pages share: the trained-model guard, durations, notes, data badges, the
shipped model's summary and the samples' quality."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from hexagan_core import explore
from hexagan_core.experiment import RunResult
from hexagan_core.jobs import JobSnapshot
from hexagan_core.quality import SampleQuality
from ui import charts, runtime, state

__all__ = [
    "data_badge",
    "duration",
    "escape_markdown",
    "imputation_spread",
    "notes",
    "notes_box",
    "page_link",
    "results_table",
    "run_downloads",
    "sample_quality",
    "selection_note",
    "shipped_model_info",
    "trained_result_or_stop",
    "use_the_router",
]

TRAIN_PAGE = "pages/train.py"
DATA_PAGE = "pages/data.py"
HOME_PAGE = "pages/home.py"
LOAD_WAIT_S = 60.0
"""How long a page waits for a shipped model that is still loading (it takes seconds)."""


# Inline Markdown that Streamlit interprets: emphasis, code, links, HTML-like tags, headings,
# tables, strike-through, LaTeX ($) and directives such as :red[...] or :material/icon: (:).
_MARKDOWN_SPECIALS = "\\`*_{}[]<>#|~$:"


def escape_markdown(text: str) -> str:
    """Text that may hold user input (a file, column or class name, an error message that
    quotes one) made literal inside a Markdown string."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in str(text))


def duration(seconds: float | None) -> str:
    """'0:42', '12:05' or '1:02:03'; an em dash when unknown."""
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def notes(lines: list[str], label: str = "Notes on the data") -> None:
    """Engine notes (they may contain file and column names: shown as plain text)."""
    if lines:
        with st.expander(label):
            st.text("\n".join(f"• {line}" for line in lines))


def notes_box(lines: list[str]) -> None:
    """The data's notes in a box that is always open: what reading it dropped or changed must
    not hide in an expander. They hold file, column and cell text: escaped, never markup."""
    if lines:
        st.info(
            "**What reading the data did**\n\n"
            + "\n".join(f"- {escape_markdown(line)}" for line in lines),
            icon=":material/info:",
        )


def data_badge(choice: state.DataChoice) -> str:
    """One line describing the chosen data and protocol (no user text is interpreted)."""
    parts = [f"{choice.missing_rate:.0%} hidden ({choice.mechanism.upper()})"]
    if choice.label_missing_rate:
        parts.append(f"{choice.label_missing_rate:.0%} of labels hidden")
    if choice.imbalance_ratio:
        parts.append(f"imbalance {choice.imbalance_ratio:g}:1")
    if choice.max_rows:
        parts.append(f"{choice.max_rows:,} rows")
    parts.append(f"seed {choice.seed}")
    return " · ".join(parts)


def use_the_router() -> None:
    """Make a deep link on a fresh server go through app.py's navigation.

    Streamlit treats a folder named pages/ beside the entry point as a legacy multipage app
    until some session has run st.navigation. So the very first visitor of a fresh server who
    opens, say, /train?job=... would get pages/train.py alone: no sections, no wide layout.
    Every page calls this first: in that legacy mode it switches it off (what st.navigation
    itself does) and reruns, which runs app.py and lands on the requested page.
    """
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest starts every run of app.py in that legacy mode and follows st.switch_page by page
    # hash only, which a rerun here would lose; browsers send the page's name, which survives.
    if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_link(path: str, label: str, icon: str) -> None:
    try:
        st.page_link(path, label=label, icon=icon)
    except Exception:  # a page run on its own (tests) has no navigation to link into
        st.caption(label)


def trained_result_or_stop() -> tuple[str, RunResult]:
    """The key of the session's finished job's views (`runtime.view_key`: its id, or the
    shipped model's) and its result; otherwise say what to do and stop."""
    job_id = state.train_job_id()
    snap = runtime.snapshot(job_id)
    if snap is not None and snap.kind == "load" and not snap.done:
        with st.spinner("Loading the trained model…"):
            snap = runtime.job_manager().wait(snap.job_id, timeout=LOAD_WAIT_S)
    if snap is None:
        if job_id:
            st.warning("That training job is no longer known here (the server was restarted?).")
            state.set_train_job_id(None)
        st.info("Train a model first on the Train page; this page then shows what it learned.")
        page_link(TRAIN_PAGE, "Go to Train", ":material/model_training:")
        st.stop()
    if snap.kind == "load" and snap.result is None:
        st.info("Still loading the trained model; reload this page in a moment." if not snap.done
                else escape_markdown(f"The trained model could not be loaded: {snap.error}"))
        page_link(HOME_PAGE, "Back to Home", ":material/home:")
        st.stop()
    if not snap.done:
        progress = snap.iteration / snap.total if snap.total else 0.0
        st.info(
            f"Training is still running ({progress:.0%}, ETA {duration(snap.eta_seconds)}). "
            "This page fills in when it finishes; come back then."
        )
        page_link(TRAIN_PAGE, "Watch the training", ":material/model_training:")
        st.stop()
    if snap.result is None:
        message = snap.error or f"The training job ended '{snap.status}' without a model."
        st.error(escape_markdown(message))
        page_link(TRAIN_PAGE, "Train again", ":material/model_training:")
        st.stop()
    return runtime.view_key(snap.job_id, snap.result), snap.result


def shipped_model_info(result: RunResult) -> None:
    """For a shipped model (not trained here), what it is and how it scored; else nothing."""
    summary = explore.shipped_model_summary(result)
    if summary:
        st.info(escape_markdown(summary), icon=":material/inventory_2:")


def sample_quality(quality: SampleQuality, class_names: list[str], judged_on: str) -> None:
    """The samples' agreement and spread, overall and per class, and how to read them.
    `judged_on`: what the judge was fitted on, in words."""
    agreement, spread, accuracy = st.columns(3)
    agreement.metric("Agreement", f"{quality.agreement:.0%}",
                     help="Share of all samples the judge labels with the class they were asked "
                          "for.")  # fmt: skip
    spread.metric("Spread ratio", f"{quality.spread_ratio:.2g}",
                  help="Mean over the classes of the samples' spread over the real rows'.")
    accuracy.metric("Judge's accuracy", f"{quality.judge_accuracy:.0%}",
                    help="On real rows it was not fitted on: how far the judge itself can be "
                         "trusted.")  # fmt: skip
    st.plotly_chart(charts.sample_quality_figure(quality.per_class, class_names),
                    key="sample_quality")  # fmt: skip
    st.caption(
        f"Judge: a logistic regression fitted on {judged_on} (its accuracy is on other real "
        f"rows); it reads {quality.n_per_class} samples of each class. Agreement: the share of "
        f"samples it labels with their class (chance: 1/{len(class_names)} = "
        f"{1 / len(class_names):.2f}). Spread: the mean pairwise distance between the samples of "
        "a class over that between real rows of the class (about 1: as varied as the data; 0: "
        "every sample identical)."
    )


def results_table(report: dict) -> None:
    """HexaGAN against the baselines on the test rows (report["results"]), with units."""
    number = st.column_config.NumberColumn
    st.dataframe(
        charts.results_frame(report["results"]), hide_index=True,
        column_config={
            "method": st.column_config.TextColumn("method"),
            "rmse": number("RMSE ↓", format="%.4f", help="root-mean-square error on the hidden "
                           "test entries, min-max units (0-1)"),
            "rmse_row": number("RMSE per row ↓", format="%.4f", help="mean of each row's RMSE"),
            "mae": number("MAE ↓", format="%.4f", help="mean absolute error, hidden entries"),
            "f1": number("F1 ↑", format="%.4f", help="minority-class F1 (binary) or macro F1"),
            "roc_auc": number("ROC AUC ↑", format="%.4f"),
            "accuracy": number("accuracy ↑", format="%.4f"),
            "seconds": number("seconds", format="%.1f", help="training and scoring time"),
        },
    )  # fmt: skip
    st.caption("↓ lower is better, ↑ higher is better. Baselines impute the same rows; their F1 "
               "comes from a fixed classifier (an MLP shaped like C) trained on their imputed "
               "data.")


def selection_note(report: dict) -> str:
    """How the run's networks were chosen, to end the "Finished" line: '; networks selected at
    iteration 2,850 on validation data.', the same for each of several imputation models, or
    '.' when nothing was selected."""
    each = [m["selected_iteration"] for m in report.get("imputation_models", [])]
    if any(each):
        iterations = ", ".join("—" if i is None else f"{i:,}" for i in each)
        return (f"; each of the {len(each)} imputation models selected on validation data "
                f"(iterations {iterations}).")  # fmt: skip
    selected = report.get("selected_iteration")
    return f"; networks selected at iteration {selected:,} on validation data." if selected else "."


def imputation_spread(result: RunResult, max_rows: int = 50) -> None:
    """For a run of several imputation models, how far they disagree on the first test rows'
    imputed cells (a heat map); nothing for a single model."""
    if result.model.config.n_imputations == 1:
        return
    spread = result.test_spread(max_rows)
    st.plotly_chart(charts.spread_figure(spread), key="imputation_spread")
    imputed = spread.stack()  # the imputed cells only: observed ones are NaN
    typical = f" (median {imputed.median():.4f})" if len(imputed) else ""
    st.caption(
        f"{result.model.config.n_imputations} imputation models, trained from different seeds, "
        f"each filled in the missing cells; the table's value is their mean. A dark cell is one "
        f"they disagree on{typical}: its imputation is less certain. The download "
        "**Spread (CSV)** gives this for every row, in each column's own units."
    )


def run_downloads(result: RunResult) -> None:
    """Imputed CSV, predictions CSV, config JSON and the model ZIP, each built on click; for
    several imputation models, the spread CSV too."""
    has_classes = bool(result.model.n_classes)
    has_spread = result.model.config.n_imputations > 1
    cols = st.columns(5 if has_spread else 4)
    cols[0].download_button(
        "Imputed data (CSV)", data=lambda: runtime.imputed_csv(result),
        file_name="imputed.csv", mime="text/csv", on_click="ignore", key="download_imputed",
        width="stretch", help="The dataset with its real missing cells filled in by HexaGAN.",
    )  # fmt: skip
    cols[1].download_button(
        "Predictions (CSV)",
        data=(lambda: runtime.predictions_csv(result)) if has_classes else b"",
        file_name="predictions.csv", mime="text/csv", on_click="ignore",
        key="download_predictions", disabled=not has_classes, width="stretch",
        help="C's class and class probabilities for every row." if has_classes
        else "The data has no label column, so there is nothing to predict.",
    )  # fmt: skip
    cols[2].download_button(
        "Config (JSON)", data=lambda: runtime.config_json(result), file_name="config.json",
        mime="application/json", on_click="ignore", key="download_config", width="stretch",
        help="Every hyperparameter of this run (HexaGANConfig.from_json reads it).",
    )  # fmt: skip
    cols[3].download_button(
        "Model (ZIP)", data=lambda: runtime.model_zip(result), file_name="hexagan-model.zip",
        mime="application/zip", on_click="ignore", key="download_model", width="stretch",
        help="Unzip, then: python -m hexagan_core predict hexagan-model new.csv --output out.csv",
    )  # fmt: skip
    if has_spread:
        cols[4].download_button(
            "Spread (CSV)", data=lambda: runtime.spread_csv(result), file_name="spread.csv",
            mime="text/csv", on_click="ignore", key="download_spread", width="stretch",
            help="The imputed data's shape: how far the imputation models disagree on each "
                 "cell (a standard deviation in the column's units, or for a category the share "
                 "of models that chose another); 0 where the cell was observed.",
        )  # fmt: skip


def attached_job(
    get_id: Callable[[], str | None], set_id: Callable[[str | None], None], what: str
) -> tuple[str | None, JobSnapshot | None]:
    """This session's job (or the URL's) and its snapshot; an id the server no longer knows is
    dropped with a warning."""
    job_id = get_id()
    snap = runtime.snapshot(job_id)
    if job_id and snap is None:
        st.warning(f"The {what} in the URL is not known here (the server restarted?).")
        set_id(None)
        job_id = None
    return job_id, snap
