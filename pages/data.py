"""Data: a built-in dataset or your CSV, its columns and missingness, and what will be hidden."""

import pandas as pd
import streamlit as st

from hexagan_core.data import BUILTIN_DATASETS
from ui import charts, components, forms, state
from ui import data as data_ui

PAGE = "data"
BUILTIN, UPLOAD = "Built-in dataset", "Upload a CSV"
NO_LABEL = "(no label column)"

components.use_the_router()
st.title("Data")
st.markdown(
    "Pick a built-in dataset or upload a CSV file (it is parsed, never executed). Then choose "
    "how many entries to hide: HexaGAN is scored on how well it fills them in."
)

choice = state.data_choice()
source = st.radio(
    "Data source", (BUILTIN, UPLOAD), index=int(choice.is_upload),
    key=state.widget_key(PAGE, "source"), horizontal=True,
)  # fmt: skip

if source == BUILTIN:
    names = list(BUILTIN_DATASETS)
    current = names.index(choice.source) if choice.source in names else 0
    name = st.selectbox(
        "Dataset", names, index=current, key=state.widget_key(PAGE, "builtin"),
        format_func=lambda n: f"{n} — {BUILTIN_DATASETS[n]}",
    )  # fmt: skip
    if choice.is_upload or choice.source != name:
        choice = choice.with_(source=name, display_name=name, label=None, is_upload=False,
                              max_rows=forms.DEFAULT_ROWS.get(name))
else:
    uploaded = st.file_uploader(
        "CSV file", type=["csv", "tsv", "txt"], key=state.widget_key(PAGE, "upload"),
        help="Comma, semicolon, tab or pipe separated; UTF-8 (or Windows) text. Empty cells, NA, "
        "N/A, NULL and ? are missing values. One row per sample.",
    )  # fmt: skip
    if uploaded is not None:
        state.set_uploaded_data(data_ui.save_upload(uploaded.name, uploaded.getvalue()))
    saved = state.uploaded_data()
    if saved is None:
        st.info(
            "Upload a CSV file to start: one row per sample, one column per feature, and "
            "optionally a label column. Or switch back to a built-in dataset."
        )
        st.stop()
    st.text(f"Using {saved.name} ({saved.size / 1024:,.1f} KB)")
    try:
        columns = data_ui.label_candidates(data_ui.load(saved.path, None, None, 0))
    except ValueError as exc:  # DataError is a ValueError: a bad file, said in one line
        st.error(f"Cannot read this file: {components.escape_markdown(exc)}")
        st.stop()
    guess = columns[0] if columns[0].strip().lower() in data_ui.LABEL_NAMES else NO_LABEL
    current = (choice.label or NO_LABEL) if choice.source == saved.path else guess
    options = [NO_LABEL, *columns]
    label = st.selectbox(
        "Label column (the class to predict)", options,
        index=options.index(current) if current in options else 0,
        key=state.widget_key(PAGE, f"label.{saved.digest[:12]}"),
        help="Leave it unset to only impute. Rows with an empty label are the unlabelled rows "
        "HexaGAN's classifier learns from.",
    )  # fmt: skip
    choice = choice.with_(
        source=saved.path, display_name=saved.name, is_upload=True,
        label=None if label == NO_LABEL else label,
    )  # fmt: skip

has_labels = not choice.is_upload or choice.label is not None
columns_box = st.container()

st.subheader("What will be hidden")
choice = forms.protocol_form(choice, has_labels=has_labels, n_rows=None)
state.set_data_choice(choice)

try:
    dataset = data_ui.load(choice.source, choice.label, choice.max_rows, choice.seed)
except ValueError as exc:
    columns_box.error(f"Cannot use this data: {components.escape_markdown(exc)}")
    st.stop()

with columns_box:
    st.subheader("Columns")
    summary = data_ui.column_summary(dataset)
    n_rows, n_cols = dataset.features.shape
    real_missing = summary["missing"].sum() / max(1, n_rows * n_cols)
    cols = st.columns(4)
    cols[0].metric("Rows", f"{n_rows:,}")
    cols[1].metric("Feature columns", f"{n_cols:,}")
    cols[2].metric("Classes", dataset.n_classes or "no label")
    cols[3].metric("Missing in the file", f"{real_missing:.1%}")
    components.notes_box(dataset.notes)
    left, right = st.columns([1, 1])
    with left:
        if summary["missing"].any():
            st.plotly_chart(charts.missingness_figure(summary), key="data_missing")
        else:
            st.caption("No cell is missing in the file: everything HexaGAN imputes is hidden by "
                       "the protocol below.")
        if dataset.labels is not None:
            names = pd.Series(dataset.labels).map(dict(enumerate(dataset.class_names)))
            st.plotly_chart(
                charts.class_counts_figure(names.fillna("unlabelled"), dataset.class_names),
                key="data_classes",
            )
    with right:
        st.dataframe(
            summary.drop(columns="missing"), hide_index=True, height=420,
            column_config={
                "column": st.column_config.TextColumn("column"),
                "type": st.column_config.TextColumn("type", width="small"),
                "missing_pct": st.column_config.NumberColumn("missing (%)", format="%.1f"),
                "distinct": st.column_config.NumberColumn(help="distinct observed values",
                                                          width="small"),
            },
        )  # fmt: skip

try:
    preview = data_ui.chosen_preview(choice)
except ValueError as exc:
    st.error(f"These settings cannot be applied: {components.escape_markdown(exc)}")
    st.stop()

cols = st.columns(4)
cols[0].metric("Entries hidden", f"{preview.hidden_rate:.1%}",
               help=f"{preview.hidden_cells:,} of {preview.observed_cells:,} observed cells")
cols[1].metric("Labels hidden", f"{preview.label_hidden_rate:.1%}" if has_labels else "—",
               help="share of the training rows' labels")
cols[2].metric("Rows used", f"{preview.rows_kept:,}", help="after imbalance subsampling")
cols[3].metric("Train / validation / test", " / ".join(f"{n:,}" for n in preview.split_rows))

colours = {"hidden": f"background-color: {charts.HIDDEN_CELL}",
           "missing": f"background-color: {charts.MISSING_CELL}", "observed": ""}
styled = preview.values.style.apply(
    lambda _: preview.status.replace(colours).to_numpy(), axis=None
).format(precision=3)
st.dataframe(styled, hide_index=False, placeholder="missing")
st.caption(
    f"First rows and columns. Orange: hidden by the protocol (the true value is kept to score "
    f"the imputation). Grey: missing in the file. Realised: {preview.hidden_rate:.1%} of the "
    f"observed entries hidden, target {choice.missing_rate:.0%} ({choice.mechanism.upper()})."
)
components.page_link(
    components.TRAIN_PAGE, "Next: train HexaGAN on this data", ":material/model_training:"
)
