"""Home: what HexaGAN does, and the compute device in use."""

import streamlit as st

from hexagan_core.model import resolve_device

st.title("HexaGAN Studio")
st.markdown(
    "Classify dirty tables: **missing values**, **imbalanced classes** and **missing labels**, "
    "solved together by one GAN of six networks (Hwang, Jung & Yoon, ICML 2019)."
)
st.markdown(
    "- **E, G_MI, D_MI** impute missing entries: D_MI judges each entry real or imputed.\n"
    "- **G_CG, D_CG** generate minority-class samples in E's hidden space.\n"
    "- **C** classifies, and learns from unlabelled rows against D_MI's label output."
)
st.info(f"Compute device: {resolve_device('auto').type.upper()}")
st.caption(
    "The interactive pages (data, live training, hidden space, samples, missing-rate study) "
    "are being built. Meanwhile the full engine runs headless: `python -m hexagan_core --help`."
)
