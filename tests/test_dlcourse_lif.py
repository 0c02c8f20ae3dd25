"""Unit tests of dlcourse.lif (chapter 08): defaults, plots, the exact trace and the f-I widget.

The widget receives the chapter's functions as arguments; here they are
replaced by simple stand-ins that record how they are called.
"""

import matplotlib
import numpy as np
import pytest
import torch

from dlcourse.lif import (
    IF_CURRENTS,
    IF_SETTINGS,
    LIF_DEFAULTS,
    TRACE_SETTINGS,
    WIDGET_DEFAULTS,
    draw_lif,
    exact_lif_trace,
    lif_widget,
    plot_if_curve,
    plot_membrane,
)

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def japanese_figures():
    """Draw with the course's Japanese font (as the notebooks do), then clean up."""
    import matplotlib.pyplot as plt

    import dlcourse

    saved = matplotlib.rcParams["font.family"]
    dlcourse.use_japanese_font()
    yield
    plt.close("all")
    matplotlib.rcParams["font.family"] = saved


class StandIns:
    """Fake run_LIF / lif_spike_counts / lif_rate_theory that remember their arguments."""

    def __init__(self):
        self.calls = {}

    def spike_counts(self, currents, **params):
        self.calls["counts"] = (currents, params)
        return (currents.clamp(min=0) * 50).long()  # (N,) int64

    def rate(self, I, Rm, Cm, Vth, tau_ref):
        self.calls["rate"] = {"Rm": Rm, "Cm": Cm, "Vth": Vth, "tau_ref": tau_ref}
        return I.clamp(min=0) / 20

    def run(self, I, **params):
        self.calls["run"] = (I, params)
        n = round(params["T"] / params["dt"])
        time = torch.arange(n + 1, dtype=torch.float32) * params["dt"]
        Vm = torch.zeros(n + 1)
        Vm[10::100] = 1.5  # one "spike" every 100 steps
        return time, Vm


def not_implemented(*args, **kwargs):
    raise NotImplementedError("未実装です")


def test_defaults_follow_the_syllabus_and_the_seed():
    assert LIF_DEFAULTS == {
        "T": 50.0,
        "dt": 0.1,
        "tau_ref": 10.0,
        "Rm": 1.0,
        "Cm": 10.0,
        "Vth": 1.0,
        "V_spike": 0.5,
    }
    assert IF_SETTINGS == {"T": 1000.0, "dt": 1.0}
    assert IF_CURRENTS.shape == (100,) and IF_CURRENTS.dtype == torch.float32
    assert IF_CURRENTS[0].item() == -0.5 and IF_CURRENTS[-1].item() == 2.0
    assert WIDGET_DEFAULTS == {"Rm": 1.0, "tau_ref": 10.0, "I": 1.5}


def test_draw_lif_passes_the_widget_settings_to_each_function():
    fake = StandIns()
    draw_lif(fake.spike_counts, fake.rate, fake.run, Rm=5.0, tau_ref=2.5, I=1.25)
    currents, params = fake.calls["counts"]
    assert torch.equal(currents, IF_CURRENTS)
    assert params == {
        **IF_SETTINGS,
        "tau_ref": 2.5,
        "Rm": 5.0,
        "Cm": 10.0,
        "Vth": 1.0,
        "V_spike": 0.5,
    }
    assert fake.calls["rate"] == {"Rm": 5.0, "Cm": 10.0, "Vth": 1.0, "tau_ref": 2.5}
    current, params = fake.calls["run"]
    assert current == 1.25
    assert params["T"] == TRACE_SETTINGS["T"] and params["dt"] == TRACE_SETTINGS["dt"]
    assert params["Rm"] == 5.0 and params["tau_ref"] == 2.5


def test_draw_lif_plots_rates_theory_relu_and_trace_with_defaults(recwarn):
    fake = StandIns()
    fig = draw_lif(fake.spike_counts, fake.rate, fake.run, **WIDGET_DEFAULTS)
    fig.canvas.draw()
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
    ax_if, ax_v = fig.axes
    markers, theory, relu = ax_if.lines[:3]
    expected_rates = (IF_CURRENTS.clamp(min=0) * 50).long().double() / IF_SETTINGS["T"]
    assert np.allclose(markers.get_ydata(), expected_rates.numpy())
    assert np.allclose(theory.get_ydata(), (IF_CURRENTS.clamp(min=0) / 20).numpy())
    assert np.allclose(relu.get_ydata(), (IF_CURRENTS.clamp(min=0) / 10).numpy())
    assert "$R_m$ = 1" in ax_if.get_title() and ax_if.get_title().startswith("f-I 曲線")
    trace = ax_v.lines[0]
    assert len(trace.get_xdata()) == round(TRACE_SETTINGS["T"] / TRACE_SETTINGS["dt"]) + 1
    assert "10 回発火" in ax_v.get_title()  # steps 10, 110, ..., 910 of the stand-in
    labels = [text.get_text() for text in ax_if.get_legend().get_texts()]
    assert labels == ["シミュレーション", "理論 (式)", r"ReLU: $\max(0, I)/(C_m V_{th})$"]


def test_draw_lif_is_friendly_while_functions_are_stubs(capsys):
    assert draw_lif(not_implemented, not_implemented, not_implemented, 1.0, 10.0, 1.5) is None
    assert capsys.readouterr().out.count("まだ実装されていません") == 3
    fake = StandIns()
    fig = draw_lif(fake.spike_counts, not_implemented, not_implemented, 1.0, 10.0, 1.5)
    ax_if, ax_v = fig.axes
    assert not ax_v.axison  # no trace yet
    assert len(ax_if.lines) == 3  # markers, ReLU and the current's vertical line


def test_lif_widget_redraws_when_a_slider_moves():
    fake = StandIns()
    box = lif_widget(fake.spike_counts, fake.rate, fake.run)
    sliders = box.children[0].children
    assert [slider.value for slider in sliders] == [1.0, 10.0, 1.5]
    assert len(box.children) == 2  # one row of three sliders, then the figure
    sliders[0].value = 20.0
    assert fake.calls["counts"][1]["Rm"] == 20.0
    sliders[2].value = 0.5
    assert fake.calls["run"][0] == 0.5


def test_plot_helpers_draw_threshold_and_curves():
    import matplotlib.pyplot as plt

    fig, (ax_v, ax_if) = plt.subplots(1, 2)
    plot_membrane(ax_v, torch.arange(3) * 0.5, torch.tensor([0.0, 0.7, 1.6]), Vth=1.2, title="t")
    assert ax_v.lines[1].get_ydata()[0] == 1.2 and ax_v.get_title() == "t"
    plot_if_curve(ax_if, torch.tensor([0.0, 1.0]), rates=torch.tensor([0.0, 0.1]))
    assert len(ax_if.lines) == 1  # no theory given
    plot_if_curve(ax_if, torch.tensor([0.0, 1.0]), theory=np.array([0.0, 0.2]), theory_label=None)
    assert np.allclose(ax_if.lines[1].get_ydata(), [0.0, 0.2])


def test_draw_lif_without_counts_draws_theory_relu_and_a_labelled_trace():
    fake = StandIns()
    fig = draw_lif(None, fake.rate, fake.run, 1.0, 10.0, 1.5, trace_label=" (解析解)")
    ax_if, ax_v = fig.axes
    assert "counts" not in fake.calls
    assert len(ax_if.lines) == 3  # theory, ReLU and the current's vertical line
    assert ax_v.get_title().startswith("膜電位 (解析解)")


def test_draw_lif_with_rates_and_no_theory_draws_points_relu_and_trace():
    """The book's widget: rates per ms given directly (no counts), no theory line."""
    fake = StandIns()
    calls = []

    def rates(currents, **params):
        calls.append(params)
        return currents.clamp(min=0) / 40

    fig = draw_lif(None, None, fake.run, 2.0, 3.0, 1.5, points_label="オイラー法", rates_fn=rates)
    ax_if, ax_v = fig.axes
    assert calls == [
        {"dt": IF_SETTINGS["dt"], "tau_ref": 3.0, "Rm": 2.0, "Cm": 10.0, "Vth": 1.0, "V_spike": 0.5}
    ]
    assert "rate" not in fake.calls and "counts" not in fake.calls
    markers, relu, _ = ax_if.lines  # points, ReLU, the current's vertical line
    assert np.allclose(markers.get_ydata(), (IF_CURRENTS.clamp(min=0) / 40).numpy())
    assert np.allclose(relu.get_ydata(), (IF_CURRENTS.clamp(min=0) / 10).numpy())
    labels = [text.get_text() for text in ax_if.get_legend().get_texts()]
    assert labels == ["オイラー法", r"ReLU: $\max(0, I)/(C_m V_{th})$"]
    assert ax_v.lines  # the trace is drawn


def test_lif_widget_passes_rates_fn_on_each_redraw():
    fake = StandIns()
    seen = []

    def rates(currents, **params):
        seen.append(params["Rm"])
        return torch.zeros_like(currents)

    box = lif_widget(None, None, fake.run, rates_fn=rates)
    box.children[0].children[0].value = 7.5
    assert seen[-1] == 7.5


def test_tau_ref_slider_reaches_zero():
    fake = StandIns()
    box = lif_widget(fake.spike_counts, fake.rate, fake.run)
    tau_ref = box.children[0].children[1]
    assert tau_ref.min == 0.0 and tau_ref.step == 0.5


def test_exact_trace_fires_at_the_continuous_spike_times():
    params = {**LIF_DEFAULTS}
    del params["T"], params["dt"]
    time, Vm = exact_lif_trace(1.5, T=50, dt=0.1, **params)
    assert time.shape == Vm.shape == (501,)
    # t* = 10 ln 3 = 10.986 ms: the first sample after it is 11.0 ms, then 10 ms at 0.
    assert (Vm > 1).nonzero().flatten().tolist() == [110, 320]
    assert Vm[110].item() == 1.5 and (Vm[111:210] == 0).all()
    t_star = 10 * np.log(3)
    assert abs(Vm[100].item() - 1.5 * (1 - np.exp(-10.0 / 10))) < 1e-12
    assert abs(Vm[215].item() - 1.5 * (1 - np.exp(-(21.5 - 10 - t_star) / 10))) < 1e-12


def test_exact_trace_below_threshold_and_without_refractory_period():
    time, Vm = exact_lif_trace(0.9, T=100, dt=0.5, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5)
    assert (Vm < 0.9).all() and not (Vm > 1).any()
    time, Vm = exact_lif_trace(1.5, T=50, dt=0.1, tau_ref=0, Rm=1, Cm=10, Vth=1, V_spike=0.5)
    assert (Vm > 1).nonzero().flatten().tolist() == [110, 220, 330, 440]
