"""Home and the entry point: the router, the six-network diagram, the one-click starts."""

from apptest_support import REPO
from streamlit.testing.v1 import AppTest

from ui.state import widget_key

NETWORKS = ("E", "G_MI", "D_MI", "G_CG", "D_CG", "C")


def _app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()


def test_app_entry_point_renders_home():
    app = _app()
    assert not app.exception
    assert app.title[0].value == "HexaGAN Studio"
    assert any("Compute device" in info.value for info in app.info)


def test_home_draws_the_six_networks_and_their_data_flow():
    app = _app()
    (chart,) = app.get("graphviz_chart")
    dot = chart.proto.spec
    for name in NETWORKS:
        assert f"{name} " in dot or f"{name}[" in dot.replace(" [", "[")
    # x~,m -> E -> h -> G_MI -> x^ -> D_MI; z,y -> G_CG -> h_c -> D_CG, which also sees E's h.
    assert "xm -> E -> h -> G_MI -> xhat -> D_MI" in dot
    assert "zy -> G_CG -> hc -> D_CG" in dot
    assert "h -> D_CG" in dot and "hc -> G_MI" in dot and "xc -> C" in dot
    assert "xhat -> C" in dot and "yin -> D_MI" in dot


def test_every_page_is_registered_in_its_section():
    app = _app()
    for page in ("data", "train", "hidden_space", "samples", "missing_rate_study"):
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, page
        assert app.title, page


def test_one_click_breast_start_opens_train_with_that_data():
    app = _app()
    app.button[0].click().run()
    assert not app.exception
    assert app.title[0].value == "Train"
    assert "breast · 20% hidden (MCAR)" in app.info[0].value


def test_one_click_mnist_start_selects_the_mnist_preset():
    app = _app()
    app.button[1].click().run()
    assert not app.exception
    assert app.title[0].value == "Train"
    assert "mnist · 20% hidden (MCAR) · 5,000 rows" in app.info[0].value
    preset = next(s for s in app.selectbox if s.label == "Preset")
    assert preset.value == "mnist"
    assert app.selectbox(key=widget_key("train", "architecture")).value == "mnist"
