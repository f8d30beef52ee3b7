"""Samples: what the trained generators produce, for images and for tables."""

import streamlit as st

from hexagan_core import explore
from ui import charts, components, state

PAGE = "samples"

components.use_the_router()
st.title("Samples")
st.markdown(
    "What the trained networks produce: G_CG's class-conditional samples decoded by G_MI, and "
    "G_MI's imputations of hidden entries, and how recognisable and varied the samples are. "
    "Draw new samples with **New samples**."
)

view_key, result = components.trained_result_or_stop()
components.shipped_model_info(result)
experiment, model = result.experiment, result.model
dataset = experiment.dataset
class_names = dataset.class_names
colors = [charts.class_color(n, class_names) for n in class_names]
judged_on = ("real digits the model never trained on" if explore.is_shipped(result)
             else "the complete real training rows")  # fmt: skip

if st.button("New samples", icon=":material/casino:", key=state.widget_key(PAGE, "reseed")):
    state.next_samples_seed()
seed = state.samples_seed()
st.caption(f"Sample seed {seed}.")


@st.cache_data(max_entries=32, show_spinner="Sampling…")
def _digits(view_key: str, seed: int, _result) -> object:
    return explore.digit_grid(
        _result.model, per_class=8, seed=seed, image_shape=_result.experiment.dataset.image_shape,
        experiment=_result.experiment,
    )  # fmt: skip


@st.cache_data(max_entries=32, show_spinner="Imputing…")
def _triplets(view_key: str, seed: int, _result) -> object:
    return explore.imputation_triplets(_result, n=6, seed=seed)


@st.cache_data(max_entries=32, show_spinner="Sampling…")
def _rows(view_key: str, seed: int, _result) -> object:
    return explore.generated_rows(_result, per_class=50, seed=seed)


@st.cache_data(max_entries=32, show_spinner="Judging the samples…")
def _quality(view_key: str, seed: int, _result) -> object:
    return explore.sample_quality(_result, per_class=100, seed=seed)


@st.cache_data(max_entries=64, show_spinner="Sampling…")
def _feature(view_key: str, column: str, seed: int, _result) -> object:
    return explore.real_vs_generated(_result, column, per_class=200, seed=seed)


def _show(call, *args):
    """Run one explore call; a failure becomes a message, never a traceback."""
    try:
        return call(*args)
    except ValueError as exc:  # the core's "cannot do that here", in one line
        st.warning(components.escape_markdown(exc))
    except Exception as exc:
        st.error(components.escape_markdown(f"{type(exc).__name__}: {' '.join(str(exc).split())}"))
    return None


def _quality_panel() -> None:
    quality = _show(_quality, view_key, seed, result)
    if quality is not None:
        components.sample_quality(quality, class_names, judged_on)


if dataset.image_shape is not None:
    st.subheader("Class-conditional digits")
    if model.n_classes:
        grid_column, quality_column = st.columns(2, gap="large")
        with grid_column:
            grid = _show(_digits, view_key, seed, result)
            if grid is not None:
                st.plotly_chart(
                    charts.image_grid_figure(grid, class_names, row_colors=colors),
                    key="digit_grid",
                )
                st.caption("Row = the class given to G_CG; column = one noise vector z, shared "
                           "by the rows, so a column shows one 'style' written as every digit.")
        with quality_column:
            st.markdown("**How recognisable and how varied**")
            _quality_panel()
    else:
        st.info("This model was trained without labels, so it has no class-conditional "
                "generator. Choose a dataset with labels on the Data page.")
    st.subheader("Imputation: original, masked, imputed")
    triplets = _show(_triplets, view_key, seed, result)
    if triplets:
        st.plotly_chart(charts.triplets_figure(triplets), key="triplets")
        st.caption(f"Test images (never seen in training) with "
                   f"{experiment.missing_rate:.0%} of the pixels hidden "
                   f"({experiment.mechanism.upper()}), in orange in the middle column; right: "
                   "HexaGAN's imputation.")
elif not model.n_classes:
    st.info("This model was trained without a label column, so it has no class-conditional "
            "generator to sample from. Choose a label column on the Data page and train again.")
else:
    st.subheader("Generated rows per class")
    rows = _show(_rows, view_key, seed, result)
    if rows is not None:
        tabs = st.tabs([components.escape_markdown(n) for n in class_names])
        for tab, name in zip(tabs, class_names, strict=True):
            part = rows[rows["class"] == name].drop(columns="class")
            tab.dataframe(part.head(20).round(4), hide_index=True)
            tab.caption(f"20 of {len(part):,} rows G_MI(G_CG(z, y = "
                        f"{components.escape_markdown(name)})), original units.")
    st.subheader("How recognisable and how varied")
    _quality_panel()
    st.subheader("Real against generated")
    columns = [str(c) for c in dataset.features.columns]
    column = st.selectbox("Feature", columns, key=state.widget_key(PAGE, f"column.{view_key}"))
    frame = _show(_feature, view_key, column, seed, result)
    if frame is not None:
        st.plotly_chart(charts.real_vs_generated_figure(frame, column, class_names),
                        key="real_vs_generated")
        st.caption("Left: the training rows' observed values; right: 200 generated rows per "
                   "class. Matching shapes per colour mean G_CG learnt that class's distribution.")
