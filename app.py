"""HexaGAN Studio: the dashboard's entry point (a router over the pages in pages/)."""

import streamlit as st

st.set_page_config(page_title="HexaGAN Studio", page_icon="⬡", layout="wide")

navigation = st.navigation({"Start": [st.Page("pages/home.py", title="Home", icon="🏠",
                                              default=True)]})
navigation.run()
