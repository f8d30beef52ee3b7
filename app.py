"""HexaGAN Studio: the dashboard's entry point (a router over the pages in pages/)."""

import logging

import streamlit as st

from hexagan_core.device import devices_here

st.set_page_config(page_title="HexaGAN Studio", page_icon="⬡", layout="wide")

pages = {
    "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "1 Data": [st.Page("pages/data.py", title="Data", icon=":material/table_view:")],
    "2 Train": [st.Page("pages/train.py", title="Train", icon=":material/model_training:")],
    "3 Explore": [
        st.Page("pages/hidden_space.py", title="Hidden space", icon=":material/scatter_plot:"),
        st.Page("pages/samples.py", title="Samples", icon=":material/casino:"),
    ],
    "4 Teach": [
        st.Page("pages/missing_rate_study.py", title="Missing-rate study",
                icon=":material/show_chart:"),
    ],
}
navigation = st.navigation(pages)
st.sidebar.caption(f"Compute: **{devices_here()}**")
try:
    navigation.run()
except Exception as exc:  # st.stop / st.rerun are BaseExceptions and pass through
    logging.getLogger("hexagan_studio").exception("page %s failed", navigation.title)
    st.error(f"Something went wrong on this page: {type(exc).__name__}: "
             f"{' '.join(str(exc).split())}. The other pages still work; the details are in "
             "the server log.")
