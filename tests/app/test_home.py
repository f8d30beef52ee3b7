"""The dashboard starts: the entry point and the home page render without an exception."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


def test_app_entry_point_renders_home():
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value == "HexaGAN Studio"
    assert any("Compute device" in info.value for info in app.info)
