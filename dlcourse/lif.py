"""Helpers of chapter 08 (LIF ニューロン): parameter defaults, plots and the f-I widget.

The simulation itself is the chapter's exercise (``run_LIF``, ``lif_spike_counts``,
``lif_rate_theory``): nothing here steps the Euler method or computes the rate
formula for many currents. The widget receives those functions as arguments and
only draws what they return. The book page draws no theory curve (that is
exercise 8.3): it passes the continuous-time trace below and its own long-run
Euler rates, 1 / (refractory steps + steps to threshold), one current at a time.
"""

import math
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import torch

from dlcourse.widgets import call_student_function, float_slider, interactive_figure

# Defaults of run_LIF (the toy units of the Neuromatch Academy material:
# ms, mA, kOhm, uF, V).
LIF_DEFAULTS = {
    "T": 50.0,
    "dt": 0.1,
    "tau_ref": 10.0,
    "Rm": 1.0,
    "Cm": 10.0,
    "Vth": 1.0,
    "V_spike": 0.5,
}
# The f-I curve's simulation: spikes counted over 1 s simulated in 1 ms steps.
IF_SETTINGS = {"T": 1000.0, "dt": 1.0}
# The widget's currents (the Neuromatch material used 10 between 0 and 2; negative
# currents show the flat part of the curve).
IF_CURRENTS = torch.linspace(-0.5, 2.0, 100)
# The widget's membrane trace: 100 ms in finer steps.
TRACE_SETTINGS = {"T": 100.0, "dt": 0.1}
# Initial slider values: the chapter's neuron driven by I = 1.5.
WIDGET_DEFAULTS = {"Rm": 1.0, "tau_ref": 10.0, "I": 1.5}

RATE_LIMIT = 0.22  # upper y limit of the f-I plots (spikes per ms)


def exact_lif_trace(
    I: float,
    T: float,
    dt: float,
    tau_ref: float,
    Rm: float,
    Cm: float,
    Vth: float,
    V_spike: float,
):
    """The continuous-time LIF trace sampled every ``dt`` (no Euler steps): ``(time, Vm)``.

    Between spikes the membrane follows ``Rm I (1 - exp(-s / tau_m))``, ``s`` the
    time since it last started from 0; it fires when that reaches ``Vth`` (after
    ``t* = tau_m ln(Rm I / (Rm I - Vth))``) and stays at 0 for ``tau_ref``, so the
    trace repeats with period ``tau_ref + t*``. The first sample at or after each
    spike time shows ``Vth + V_spike``. Float64, for the book's figures.
    """
    time = torch.arange(round(T / dt) + 1, dtype=torch.float64) * dt
    tau_m, drive = Rm * Cm, Rm * I
    if drive <= Vth:
        return time, drive * (1 - torch.exp(-time / tau_m))
    rise = tau_m * math.log(drive / (drive - Vth))  # t*, from 0 to the threshold
    period = tau_ref + rise
    # Time since the membrane last started from 0 (the trace starts at 0 at t = 0).
    phase = torch.remainder(time + tau_ref, period)  # in [0, period)
    Vm = torch.where(phase < tau_ref, 0.0, drive * (1 - torch.exp(-(phase - tau_ref) / tau_m)))
    crossed = torch.floor((time + tau_ref) / period)  # spikes so far, counting t = 0 as one
    first_after = torch.cat([torch.tensor([False]), crossed[1:] > crossed[:-1]])
    return time, torch.where(first_after, Vth + V_spike, Vm)


def plot_membrane(ax, time, Vm, Vth: float = 1.0, title: str | None = None, **line_kwargs):
    """Draw a membrane trace ``Vm`` against ``time`` (ms) with the threshold as a dashed line."""
    time = torch.as_tensor(time).detach().cpu()
    Vm = torch.as_tensor(Vm).detach().cpu()
    ax.plot(time, Vm, **{"color": "tab:blue", "lw": 1.2, **line_kwargs})
    ax.axhline(Vth, color="tab:red", ls="--", lw=1, label=r"閾値 $V_{th}$")
    ax.set_xlabel("時刻 (ms)")
    ax.set_ylabel(r"膜電位 $V_m$ (V)")
    if title:
        ax.set_title(title)
    return ax


def plot_if_curve(
    ax,
    currents,
    rates=None,
    theory=None,
    label: str = "シミュレーション",
    color: str = "tab:blue",
    theory_label: str | None = "理論 (式)",
    theory_color: str = "black",
):
    """Draw simulated rates (markers) and the theory (line) of an f-I curve."""
    currents = torch.as_tensor(currents).detach().cpu()
    if rates is not None:
        rates = torch.as_tensor(rates).detach().cpu()
        ax.plot(currents, rates, "o", ms=3, color=color, label=label)
    if theory is not None:
        theory = torch.as_tensor(theory).detach().cpu()
        ax.plot(currents, theory, "-", lw=1.2, color=theory_color, label=theory_label)
    ax.set_xlabel("入力電流 $I$ (mA)")
    ax.set_ylabel("発火率 (スパイク/ms)")
    return ax


def lif_data(
    spike_counts_fn: Callable[..., Any] | None,
    rate_fn: Callable[..., Any] | None,
    run_fn: Callable[..., Any],
    Rm: float,
    tau_ref: float,
    I: float,
    currents: torch.Tensor | None = None,
    rates_fn: Callable[..., Any] | None = None,
):
    """``(currents, rates, theory, trace)`` for :func:`draw_lif`; ``None`` for what is missing."""
    currents = IF_CURRENTS if currents is None else currents
    fixed = {"Cm": LIF_DEFAULTS["Cm"], "Vth": LIF_DEFAULTS["Vth"]}
    params = {"tau_ref": tau_ref, "Rm": Rm, **fixed, "V_spike": LIF_DEFAULTS["V_spike"]}
    rates = None
    if spike_counts_fn is not None:
        counts = call_student_function(spike_counts_fn, currents, **IF_SETTINGS, **params)
        rates = None if counts is None else torch.as_tensor(counts).double() / IF_SETTINGS["T"]
    elif rates_fn is not None:
        rates = call_student_function(rates_fn, currents, dt=IF_SETTINGS["dt"], **params)
    theory = None
    if rate_fn is not None:
        theory = call_student_function(rate_fn, I=currents, Rm=Rm, tau_ref=tau_ref, **fixed)
    trace = call_student_function(run_fn, I, **TRACE_SETTINGS, **params)
    return currents, rates, theory, trace


def _if_title(Rm: float, tau_ref: float) -> str:
    return f"f-I 曲線 ($R_m$ = {Rm:g}, " + r"$\tau_{ref}$" + f" = {tau_ref:g} ms)"


def _trace_title(trace_label: str, I: float, Vm) -> str:
    n_spikes = int((torch.as_tensor(Vm) > LIF_DEFAULTS["Vth"]).sum())
    length = f"{TRACE_SETTINGS['T']:g} ms"
    # Plain text, as on the slider (電流 I): a mathtext title is parsed anew for
    # every value, about 200 ms per move on this machine.
    return f"膜電位{trace_label} (I = {I:g} mA)\n{length} で {n_spikes} 回発火"


def _trace_ylim(Vm) -> tuple[float, float]:
    Vm = torch.as_tensor(Vm)
    return min(-0.1, float(Vm.min()) - 0.1), max(1.8, float(Vm.max()) + 0.1)


def draw_lif(
    spike_counts_fn: Callable[..., Any] | None,
    rate_fn: Callable[..., Any] | None,
    run_fn: Callable[..., Any],
    Rm: float,
    tau_ref: float,
    I: float,
    currents: torch.Tensor | None = None,
    points_label: str = "シミュレーション",
    trace_label: str = "",
    rates_fn: Callable[..., Any] | None = None,
):
    """The widget's figure: the f-I curve (points and theory) and the trace at ``I``.

    ``spike_counts_fn(currents, **params)`` counts spikes over ``IF_SETTINGS``
    (the points are count / T). Without it, ``rates_fn(currents, dt=..., **params)``
    may give the points' rates in spikes per ms directly (``dt`` from
    ``IF_SETTINGS``); with neither, no points are drawn. ``rate_fn(I=..., Rm=...,
    Cm=..., Vth=..., tau_ref=...)`` gives the theory line in spikes per ms
    (``None``: no line); ``run_fn(I, **params)`` returns ``(time, Vm)``. A
    function that still raises ``NotImplementedError`` is skipped with a message;
    if all of them do, no figure is drawn and ``None`` is returned.
    """
    currents, rates, theory, trace = lif_data(
        spike_counts_fn, rate_fn, run_fn, Rm, tau_ref, I, currents, rates_fn
    )
    if rates is None and theory is None and trace is None:
        return None
    fixed = {"Cm": LIF_DEFAULTS["Cm"], "Vth": LIF_DEFAULTS["Vth"]}

    fig, (ax_if, ax_v) = plt.subplots(1, 2, figsize=(7.2, 3.6), width_ratios=[1, 1.25])
    plot_if_curve(ax_if, currents, rates, theory, label=points_label)
    relu = currents.clamp(min=0) / (fixed["Cm"] * fixed["Vth"])
    ax_if.plot(currents, relu, ":", color="0.4", label=r"ReLU: $\max(0, I)/(C_m V_{th})$")
    ax_if.axvline(I, color="tab:orange", lw=1)
    ax_if.set_ylim(-0.005, RATE_LIMIT)
    ax_if.set_title(_if_title(Rm, tau_ref))
    ax_if.legend(loc="upper left", fontsize=8)

    if trace is not None:
        time, Vm = trace
        title = _trace_title(trace_label, I, Vm)
        plot_membrane(ax_v, time, Vm, fixed["Vth"], title, color="tab:orange")
        ax_v.set_ylim(*_trace_ylim(Vm))
        ax_v.legend(loc="upper right", fontsize=8)
    else:
        ax_v.set_axis_off()
    fig.tight_layout()
    return fig


def update_lif(
    fig,
    spike_counts_fn: Callable[..., Any] | None,
    rate_fn: Callable[..., Any] | None,
    run_fn: Callable[..., Any],
    Rm: float,
    tau_ref: float,
    I: float,
    currents: torch.Tensor | None = None,
    points_label: str = "シミュレーション",
    trace_label: str = "",
    rates_fn: Callable[..., Any] | None = None,
):
    """Give a :func:`draw_lif` figure the data for new ``Rm``, ``tau_ref``, ``I`` in place.

    The widget's fast path (no new figure, axes or text layout per move).
    Returns ``fig``, or ``None`` when the figure would not have the same lines
    (a function started or stopped raising NotImplementedError): then the
    widget draws anew.
    """
    currents, rates, theory, trace = lif_data(
        spike_counts_fn, rate_fn, run_fn, Rm, tau_ref, I, currents, rates_fn
    )
    ax_if, ax_v = fig.axes
    curves = [(points_label, rates), ("理論 (式)", theory)]
    curves = [(label, values) for label, values in curves if values is not None]
    *lines, _relu, marker = ax_if.lines
    if [line.get_label() for line in lines] != [label for label, _ in curves]:
        return None
    if (trace is None) != (not ax_v.lines):
        return None
    for line, (_, values) in zip(lines, curves, strict=True):
        line.set_ydata(torch.as_tensor(values).detach().cpu().numpy())
    marker.set_xdata([I, I])
    ax_if.set_title(_if_title(Rm, tau_ref))
    if trace is not None:
        time, Vm = (torch.as_tensor(x).detach().cpu().numpy() for x in trace)
        ax_v.lines[0].set_data(time, Vm)
        ax_v.set_title(_trace_title(trace_label, I, Vm))
        ax_v.set_ylim(*_trace_ylim(Vm))
    return fig


def lif_widget(
    spike_counts_fn: Callable[..., Any] | None,
    rate_fn: Callable[..., Any] | None,
    run_fn: Callable[..., Any],
    rates_fn: Callable[..., Any] | None = None,
    **labels: str,
):
    """Sliders for ``Rm``, ``tau_ref`` and ``I`` -> f-I curve and membrane trace (widget 8).

    ``rates_fn`` and ``labels`` (``points_label``, ``trace_label``) are passed on
    to :func:`draw_lif`.
    """

    def draw(Rm: float, tau_ref: float, I: float):
        return draw_lif(
            spike_counts_fn, rate_fn, run_fn, Rm, tau_ref, I, rates_fn=rates_fn, **labels
        )

    def update(fig, Rm: float, tau_ref: float, I: float):
        return update_lif(
            fig, spike_counts_fn, rate_fn, run_fn, Rm, tau_ref, I, rates_fn=rates_fn, **labels
        )

    controls = {
        "Rm": float_slider(WIDGET_DEFAULTS["Rm"], 1.0, 100.0, 0.5, "膜抵抗 Rm (kΩ)"),
        "tau_ref": float_slider(WIDGET_DEFAULTS["tau_ref"], 0.0, 100.0, 0.5, "不応期 τ_ref (ms)"),
        "I": float_slider(WIDGET_DEFAULTS["I"], -0.5, 2.0, 0.05, "電流 I (mA)"),
    }
    return interactive_figure(draw, controls, per_row=3, update=update)
