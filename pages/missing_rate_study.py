"""Missing-rate study: how imputation error grows with the share of hidden entries, per method."""

import pandas as pd
import streamlit as st

from hexagan_core.study import plain_language_explanation, study_total_runs
from ui import charts, components, forms, runtime, state

PAGE = "study"

components.use_the_router()
st.title("Missing-rate study")
st.markdown(
    "A classroom demo: hide more and more of the table and watch each method's error grow. "
    "Every point is the test RMSE on the hidden entries, averaged over seeds (error bars: "
    "standard deviation). The chart fills in while the study runs."
)

data = state.data_choice()
manager = runtime.job_manager()
job_id, snap = components.attached_job(state.study_job_id, state.set_study_job_id, "study")
busy = snap is not None and not snap.done

st.info(f"**Data:** {components.escape_markdown(data.display_name)} · mechanism "
        f"{data.mechanism.upper()} (change both on the Data page)")
options = forms.study_form(data, disabled=busy)
try:
    runs = study_total_runs(options)
    problem = None
except ValueError as exc:
    runs, problem = 0, str(exc)
if problem:
    st.error(components.escape_markdown(problem))
else:
    st.caption(f"{runs} runs: {len(options.rates)} rates × {len(options.seeds)} seed(s) × "
               f"{len(options.methods)} methods. The defaults take about a minute on a CPU.")

start_col, stop_col, _ = st.columns([1, 1, 4])
start = start_col.button("Start study", type="primary", disabled=busy or problem is not None,
                         key=state.widget_key(PAGE, "start"), width="stretch")
stop = stop_col.button("Stop", disabled=not busy, key=state.widget_key(PAGE, "stop"),
                       width="stretch")
if start:
    if job_id:
        manager.forget(job_id)
    state.set_study_job_id(manager.start_study(options))
    st.rerun()
if stop and job_id:
    manager.stop(job_id)
    st.rerun()


def _rows(snap) -> pd.DataFrame:
    return pd.DataFrame(list(snap.history), columns=["rate", "seed", "method", "rmse", "seconds"])


@st.fragment(run_every=1.0 if busy else None)
def live_chart(job_id: str, live: bool) -> None:
    snap = runtime.snapshot(job_id)
    if snap is None:
        st.warning("The study is no longer known here.")
        return
    if live and snap.done:
        st.rerun()
    if not snap.done:
        fraction = snap.iteration / snap.total if snap.total else 0.0
        st.progress(
            min(1.0, fraction),
            text=f"Run {snap.iteration} of {snap.total} · ETA "
            f"{components.duration(snap.eta_seconds)} · elapsed "
            f"{components.duration(snap.elapsed_seconds)} · {snap.status}",
        )
    summary = charts.study_summary(_rows(snap))
    st.plotly_chart(charts.study_figure(summary, options.rates if live else None),
                    key="study_chart")


if snap is None:
    st.info("Press **Start study** to run it; the chart appears here.")
    st.stop()

live_chart(snap.job_id, busy)
if not snap.done:
    st.stop()
if snap.status == "failed" or snap.result is None:
    st.error(components.escape_markdown(snap.error or "The study ended without results."))
    st.stop()

result = snap.result
summary = result.summary()
if result.stopped:
    st.warning("Stopped early: the chart and table show the runs that finished.")
st.subheader("What the chart says")
st.info(plain_language_explanation(summary))

st.subheader("Table")
shown = summary.drop(columns="std") if summary["std"].isna().all() else summary
st.dataframe(
    shown, hide_index=True,
    column_config={
        "rate": st.column_config.NumberColumn("missing rate", format="%.2f"),
        "mean": st.column_config.NumberColumn("mean RMSE", format="%.4f"),
        "std": st.column_config.NumberColumn("std over seeds", format="%.4f"),
        "n": st.column_config.NumberColumn("seeds"),
    },
)  # fmt: skip
if shown is not summary:
    st.caption("One seed per point, so there is no spread between seeds to show.")
figure = charts.study_figure(charts.study_summary(result.rows))
cols = st.columns(3)
cols[0].download_button(
    "Summary (CSV)", data=summary.to_csv(index=False), file_name="missing-rate-summary.csv",
    mime="text/csv", on_click="ignore", key="download_study_summary", width="stretch",
)  # fmt: skip
cols[1].download_button(
    "Every run (CSV)", data=result.rows.to_csv(index=False), file_name="missing-rate-runs.csv",
    mime="text/csv", on_click="ignore", key="download_study_runs", width="stretch",
)  # fmt: skip
cols[2].download_button(
    "Chart (HTML, works offline)",
    data=lambda: figure.to_html(include_plotlyjs=True, full_html=True),
    file_name="missing-rate-study.html", mime="text/html", on_click="ignore",
    key="download_study_chart", width="stretch",
)  # fmt: skip
