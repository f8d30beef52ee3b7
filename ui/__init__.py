"""The dashboard's building blocks: state (session keys), forms (widgets -> values), charts
(plotly figures, no Streamlit), data (loading and previews), runtime (the shared job manager and
background projections) and components (small shared pieces)."""
