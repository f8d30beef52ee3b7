"""Missing-rate study page: the sweep form, a tiny live study, its explanation and exports."""

from apptest_support import page_test, rerun_until

from ui.state import widget_key


def _key(name: str) -> str:
    return widget_key("study", name)


def test_the_default_sweep_is_described_before_it_runs():
    at = page_test("missing_rate_study").run()
    assert not at.exception
    assert any("40 runs: 4 rates × 2 seed(s) × 5 methods" in c.value for c in at.caption)
    assert any("Start study" in i.value for i in at.info)


def test_an_empty_method_list_is_an_error_and_cannot_start():
    at = page_test("missing_rate_study").run()
    at.multiselect(key=_key("methods")).set_value([]).run()
    assert not at.exception
    assert any("'methods'" in e.value for e in at.error)
    assert at.button(key=_key("start")).disabled


def test_a_tiny_study_fills_the_chart_and_explains_it():
    at = page_test("missing_rate_study").run()
    at.multiselect(key=_key("rates")).set_value([0.2, 0.5])
    at.multiselect(key=_key("methods")).set_value(["hexagan", "mean"])
    at.slider(key=_key("seeds")).set_value(1)
    at.number_input(key=_key("iterations")).set_value(20)
    at.run()
    assert any("4 runs" in c.value for c in at.caption)
    at.button(key=_key("start")).click().run()
    assert "study" in at.query_params
    rerun_until(at, lambda a: any(s.value == "What the chart says" for s in a.subheader))
    assert not at.error
    explanation = at.info[-1].value
    assert "20%" in explanation and "50%" in explanation and "RMSE" in explanation
    table = at.dataframe[0].value
    assert sorted(table["method"].unique()) == ["hexagan", "mean"]
    assert sorted(table["rate"].unique()) == [0.2, 0.5]
    assert [b.label for b in at.download_button] == [
        "Summary (CSV)", "Every run (CSV)", "Chart (HTML, works offline)",
    ]
    assert at.get("plotly_chart")
