"""Home and the entry point: the router, the six-network diagram, the one-click starts and
exploring the shipped MNIST model."""

import re
import shutil
import time

import torch
from apptest_support import REPO
from streamlit.testing.v1 import AppTest

from hexagan_core import device as device_module
from hexagan_core import pretrained
from hexagan_core.config import preset
from hexagan_core.experiment import RunOptions
from ui import runtime
from ui.state import preset_session, widget_key

EXPLORE = widget_key("home", "explore_mnist")

NETWORKS = ("E", "G_MI", "D_MI", "G_CG", "D_CG", "C")


def _plain(markdown: str) -> str:
    """Text shown as Markdown with its specials escaped, as the reader sees it."""
    return markdown.replace("\\", "")


def _app(**state) -> AppTest:
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    preset_session(app.session_state, **state)
    return app.run()


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
    app.button(key=widget_key("home", "breast")).click().run()
    assert not app.exception
    assert app.title[0].value == "Train"
    assert "breast · 20% hidden (MCAR)" in app.info[0].value


def test_one_click_mnist_start_on_a_cpu_selects_the_quick_preset(monkeypatch):
    monkeypatch.setattr(device_module, "accelerator", lambda: None)
    app = _app()
    button = app.button(key=widget_key("home", "mnist"))
    iterations = preset("mnist_quick").iterations
    assert f"the 'mnist_quick' preset, {iterations:,} iterations). No GPU here: the quick " in (
        button.help
    )
    minutes = re.search(r"the quick setting, about (\d+) minutes on two CPU cores", button.help)
    assert minutes and 3 <= int(minutes.group(1)) <= 10  # the preset's 650 iterations
    assert "shows its estimate before you start" in button.help
    button.click().run()
    assert not app.exception
    assert app.title[0].value == "Train"
    assert "mnist · 20% hidden (MCAR) · 5,000 rows" in app.info[0].value
    chosen = next(s for s in app.selectbox if s.label == "Preset")
    assert chosen.value == "mnist_quick"
    assert app.selectbox(key=widget_key("train", "architecture")).value == "mnist"
    # Before Start: the estimated duration, timed on the chosen digits with the preset.
    (estimate,) = [c.value for c in app.caption if c.value.startswith("Estimated training time")]
    assert "on cpu: about " in estimate and f"for {iterations:,} iterations (timed on " in estimate


def test_one_click_mnist_start_with_a_gpu_selects_the_full_preset(monkeypatch):
    monkeypatch.setattr(device_module, "accelerator", lambda: torch.device("cuda"))
    button = _app().button(key=widget_key("home", "mnist"))
    assert "the 'mnist' preset" in button.help and "A GPU is here: the full setting" in button.help


def test_explore_a_trained_mnist_model_loads_it_and_opens_samples(monkeypatch, tiny_mnist_model):
    monkeypatch.setattr(pretrained, "SHIPPED_MNIST", tiny_mnist_model)
    app = _app()
    app.button(key=EXPLORE).click().run()
    assert not app.exception
    assert app.title[0].value == "Samples"
    job_id = app.query_params["job"]
    snap = runtime.snapshot(job_id)
    assert (snap.kind, snap.status) == ("load", "finished")
    assert snap.result.report["shipped_model"] == str(tiny_mnist_model)
    assert any(_plain(i.value).startswith("The shipped model, trained on the official training")
               for i in app.info)  # fmt: skip
    assert [s.value for s in app.subheader][0] == "Class-conditional digits"

    # A second click (another session) gets the same loaded model at once, as a new job.
    start = time.monotonic()
    again = _app()
    again.button(key=EXPLORE).click().run()
    assert not again.exception and again.title[0].value == "Samples"
    second = again.query_params["job"]
    assert runtime.snapshot(second).result is snap.result and second != job_id
    # ... whose samples and projections are cached under the model, not the job: made once.
    key = runtime.view_key(second, snap.result)
    assert key == runtime.view_key(job_id, snap.result) == f"shipped:{tiny_mnist_model}:" + str(
        (tiny_mnist_model / "model.json").stat().st_mtime_ns
    )
    print(f"second click: {time.monotonic() - start:.1f} s")


def _explore_error(monkeypatch, directory) -> str:
    """The one error Home shows when Explore cannot load the model in `directory`."""
    monkeypatch.setattr(pretrained, "SHIPPED_MNIST", directory)
    app = _app()
    app.button(key=EXPLORE).click().run()
    assert not app.exception
    assert app.title[0].value == "HexaGAN Studio"
    (error,) = app.error
    return _plain(error.value)


def test_a_missing_model_says_so_on_home(monkeypatch, tmp_path):
    message = _explore_error(monkeypatch, tmp_path / "not-installed")
    assert message.startswith("Could not load the trained MNIST model: FileNotFoundError: ")
    assert message.endswith("not-installed/model.json does not exist (the model is not installed).")


def test_a_damaged_model_says_so_on_home(monkeypatch, tmp_path, tiny_mnist_model):
    damaged = tmp_path / "mnist"
    shutil.copytree(tiny_mnist_model, damaged)
    weights = damaged / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    message = _explore_error(monkeypatch, damaged)
    assert message.startswith("Could not load the trained MNIST model: ValueError: ")
    assert "weights.pt: not a readable PyTorch weights file" in message


def test_explore_waits_while_a_training_of_the_session_runs():
    job_id = runtime.job_manager().start_training(
        RunOptions(data="breast", iterations=200_000, device="cpu")
    )
    try:
        app = _app(train_job=job_id)
        assert not app.exception
        button = app.button(key=EXPLORE)
        assert button.disabled and "stop it on the Train page" in button.help
    finally:
        runtime.job_manager().stop(job_id)
    runtime.job_manager().wait(job_id, timeout=60)
    assert not _app(train_job=job_id).button(key=EXPLORE).disabled

