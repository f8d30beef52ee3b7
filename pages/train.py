"""Train: a preset and every hyperparameter, then a background run with live curves and results."""

import streamlit as st

from hexagan_core.config import PRESETS, HexaGANConfig, preset
from hexagan_core.device import DeviceChoice, accelerator, choose_device
from hexagan_core.experiment import RunOptions, preset_for_data, training_config
from hexagan_core.jobs import PAUSE_EXPIRY_S
from ui import charts, components, forms, runtime, state
from ui import data as data_ui

PAGE = "train"
PRESET_HELP = {
    "default": "measured best on validation data for a CPU budget",
    "paper": "the supplement's values (n_critic 5, n_CG 10, RMSProp, zero-centred penalty)",
    "official": "the official TensorFlow code's deviations",
    "mnist": "convolutional networks for 28×28 images, weight clipping, and the fixes that keep "
             "G_CG from collapsing to one image",
    "mnist_quick": "the same, short, for a CPU (about 6 minutes on two cores), with the fixes "
                   "that let G_CG learn each digit's variety in that time",
    "mnist_paper": "the supplement's MNIST settings as they are (G_CG collapses)",
}
STATUS_TEXT = {
    "queued": "Queued: waiting for the GPU, which another job is using.",
    "paused": f"Paused. Resume to go on from here; after {PAUSE_EXPIRY_S / 60:g} minutes paused, "
              "the job stops.",
    "stopping": "Stopping after the current iteration…",
}

components.use_the_router()
st.title("Train")
st.markdown(
    "Choose a preset, adjust any hyperparameter (the help of each names its symbol in the paper) "
    "and start. Training runs in the background: switch pages, reload, or open this page's URL "
    "in another tab, and the run is still here."
)

data = state.data_choice()
choice = state.train_choice()
manager = runtime.job_manager()
job_id, snap = components.attached_job(state.train_job_id, state.set_train_job_id, "training job")
if snap is not None and snap.kind == "load":  # the shipped model: nothing trained here yet
    st.info("This session explores the trained MNIST model that ships with HexaGAN Studio "
            "(**3 Explore**). Start training below to train a model of your own instead.")
    snap = None
busy = snap is not None and not snap.done

st.info(f"**Data:** {components.escape_markdown(data.display_name)} · "
        f"{components.data_badge(data)}")
components.page_link(components.DATA_PAGE, "Change the data", ":material/table_view:")

# --- settings -----------------------------------------------------------------------------------

presets = list(PRESETS)
left, middle, right = st.columns([1, 1, 2])
preset_name = left.selectbox(
    "Preset", presets, index=presets.index(choice.preset_name) if choice.preset_name in presets
    else 0, key=state.widget_key(PAGE, "preset"), disabled=busy,
    help=" · ".join(f"{n}: {t}" for n, t in PRESET_HELP.items()),
)  # fmt: skip
with middle:
    device = forms.device_select(PAGE, choice.device, disabled=busy)
with right:
    baselines = forms.baselines_select(PAGE, choice.baselines, disabled=busy)

base_preset = preset_for_data(preset_name, data.source)
if (preset_name, base_preset) != (choice.preset_name, choice.base_preset):
    # Another preset, or data on which it stands for another: the form starts from its values.
    state.set_train_choice(
        choice.with_(preset_name=preset_name, base_preset=base_preset, config=preset(base_preset))
    )
    state.forget_widgets(PAGE, [n for group in forms.FIELD_GROUPS.values() for n in group])
if base_preset != preset_name:
    st.caption(f"For MNIST's 28×28 images '{preset_name}' is the '{base_preset}' preset "
               "(convolutional networks, weight clipping): the form shows its values.")
st.subheader("Hyperparameters")


def _run_options(config: HexaGANConfig) -> RunOptions:
    """What Start runs: the chosen data and protocol, the form's config, and the device ('auto'
    resolved here, so that the job queues for a GPU only when it will use one)."""
    auto = _auto_device(config) if device == "auto" else None
    return RunOptions(
        data=data.source, label=data.label, missing_rate=data.missing_rate,
        mechanism=data.mechanism, label_missing_rate=data.label_missing_rate,
        imbalance_ratio=data.imbalance_ratio, preset=base_preset, config=config,
        seed=data.seed, device=device if auto is None else str(auto.device),
        baselines=list(baselines), max_rows=data.max_rows,
    )  # fmt: skip


def _auto_device(config: HexaGANConfig) -> DeviceChoice | None:
    """Where 'auto' trains this config on the chosen data; None for data that cannot be used
    (the Data page and the run say why)."""
    if accelerator() is None:  # the CPU whatever the data: no preview to load
        return choose_device(config, n_features=0)
    try:
        return choose_device(config, data_ui.chosen_preview(data).n_features)
    except ValueError:
        return None


try:
    config = forms.config_form(state.train_choice().config, page=PAGE, disabled=busy)
except ValueError as exc:
    st.error(components.escape_markdown(exc))
    config = None
if config is not None:
    state.set_train_choice(state.TrainChoice(
        preset_name, base_preset=base_preset, config=config, device=device, baselines=baselines
    ))  # fmt: skip
    cost_note = data_ui.penalty_note(data, config)
    if cost_note:
        st.info(cost_note)
    auto_device = _auto_device(config) if device == "auto" else None
    if auto_device is not None:
        st.caption(f"Device 'auto' trains on {auto_device.reason}.")
    if not busy:  # before Start: how long it will take, timed on the chosen data
        options = _run_options(config)
        estimate = data_ui.duration_estimate(data, training_config(options)[1], options.device)
        if estimate is not None:
            st.caption(f"Estimated training time on {options.device}: {estimate}; validation "
                       "reports and baselines come on top.")

# --- controls -----------------------------------------------------------------------------------

start_col, pause_col, stop_col, _ = st.columns([1, 1, 1, 3])
start = start_col.button("Start training", type="primary", key=state.widget_key(PAGE, "start"),
                         disabled=busy or config is None, width="stretch")
paused = snap is not None and snap.status == "paused"
toggle_pause = pause_col.button("Resume" if paused else "Pause", disabled=not busy,
                                key=state.widget_key(PAGE, "pause"), width="stretch")
stop = stop_col.button("Stop", disabled=not busy, key=state.widget_key(PAGE, "stop"),
                       width="stretch")

if start and config is not None:
    options = _run_options(config)
    if job_id:
        manager.forget(job_id)  # one job per session: free the previous model
    state.set_train_job_id(manager.start_training(options))
    st.rerun()
if toggle_pause and job_id:
    (manager.resume if paused else manager.pause)(job_id)
    st.rerun()
if stop and job_id:
    manager.stop(job_id)
    st.rerun()

# --- progress (refreshed every second while the job runs) ---------------------------------------


@st.fragment(run_every=1.0 if busy else None)
def progress_panel(job_id: str, live: bool, compiled: bool) -> None:
    snap = runtime.snapshot(job_id)
    if snap is None:
        st.warning("The job is no longer known here.")
        return
    if live and snap.done:
        st.rerun()  # the whole page: results, buttons, and no more auto-refresh
    fraction = min(1.0, snap.iteration / snap.total) if snap.total else 0.0
    if snap.done:
        text = (f"{snap.status.capitalize()} at iteration {snap.iteration:,} of {snap.total:,} · "
                f"{components.duration(snap.elapsed_seconds)} · device {snap.device}")
    elif snap.status in STATUS_TEXT:
        text = STATUS_TEXT[snap.status]
    elif not snap.done and snap.iteration == 0:
        text = f"Starting on {snap.device}: the first report comes after eval_every iterations."
        if compiled:
            text += " engine 'compiled' compiles its programs first (up to about a minute)."
    else:
        speed = f"{snap.iterations_per_second:,.0f} it/s" if snap.iterations_per_second else "—"
        text = (
            f"Iteration {snap.iteration:,} of {snap.total:,} · {speed} · "
            f"ETA {components.duration(snap.eta_seconds)} · "
            f"elapsed {components.duration(snap.elapsed_seconds)} · device {snap.device}"
        )
    st.progress(fraction, text=text)
    if not snap.done:  # what the run said before training: its estimated duration, warnings
        for note in snap.notes:
            st.caption(components.escape_markdown(note))
    reports = charts.thin(snap.history)
    history = charts.history_frame(reports)
    for column, metric in zip(st.columns(2), charts.VALIDATION_CURVES, strict=True):
        column.altair_chart(charts.validation_curve_chart(history, metric), key=f"train_{metric}")
    losses = charts.loss_frame(reports)
    if len(losses):
        st.markdown("**Losses** (mean since the previous report), coloured by the network they "
                    "train")
        st.altair_chart(charts.loss_curves_chart(losses), key="train_losses")


if snap is None:
    st.info("No training yet: press **Start training**. Breast cancer with the default preset "
            "takes about half a minute on a CPU.")
    st.stop()

st.subheader("Progress")
progress_panel(snap.job_id, busy, state.train_choice().config.engine == "compiled")
if not snap.done:
    st.stop()

# --- results --------------------------------------------------------------------------------------

result = snap.result
if snap.status == "failed" or result is None:
    message = snap.error or f"The job ended '{snap.status}' without a model."
    st.error(components.escape_markdown(message))
    st.stop()

report = result.report
if snap.status == "stopped":
    st.warning(f"Stopped after {report['iterations']:,} iterations: the results use the networks "
               "trained so far, and the baselines were skipped.")
else:
    st.success(
        f"Finished: {report['iterations']:,} iterations in {components.duration(report['seconds'])}"
        + components.selection_note(report)
    )

st.subheader("Results on the test rows")
components.results_table(report)
components.imputation_spread(result)
components.notes(report.get("notes", []), "Notes on this run")
st.subheader("Downloads")
components.run_downloads(result)
st.caption("Next: see the hidden space and generated samples under **3 Explore**.")
