"""Plausible mistakes in chapter 08's exercises, and the graded cells that must catch them.

One correct alternative is listed too (``fails`` empty): a ``lif_spike_counts``
that loops over the currents is only slow, and must keep full marks. ``says`` are
the words the failing cells' feedback must contain: the mistake as the student
should read it, decided by what the trace shows (held steps, their value, the
step after a spike), never by the test that happened to fail. (Five more were checked
and left out to keep the chapter's autograde run within the harness's time limit: int() step
counts, float64 results of run_LIF and lif_rate_theory, a refractory period one step long, the
float-time refractory rule in lif_spike_counts.)
"""

from harness import Mistake

# The graded signature, written as the solution writes it (names and defaults from the
# syllabus); every run_LIF below differs only in its body.
RUN_LIF_HEAD = """
def run_LIF(
    I: float,
    T: float = 50,
    dt: float = 0.1,
    tau_ref: float = 10,
    Rm: float = 1,
    Cm: float = 10,
    Vth: float = 1,
    V_spike: float = 0.5,
):"""


def run_lif(
    *,
    steps="n = round(T / dt)\n    n_ref = round(tau_ref / dt)",
    time="torch.arange(n + 1, dtype=torch.float32) * dt",
    held="continue",
    start="0.0 if fired else Vm[i - 1]",
    charge="V + dt / Cm * (-V / Rm + I)",
    fires="Vm[i] >= Vth",
    spike="Vm[i] += V_spike",
    until="i + n_ref",
) -> str:
    """A run_LIF that follows the statement except for the pieces given."""
    return (
        RUN_LIF_HEAD
        + f"""
    {steps}
    time = {time}
    Vm = torch.zeros(n + 1)
    refractory_until = 0
    fired = False
    for i in range(1, n + 1):
        if i <= refractory_until:
            fired = False
            {held}
        V = {start}
        Vm[i] = {charge}
        fired = bool({fires})
        if fired:
            {spike}
            refractory_until = {until}
    return time, Vm
"""
    )


COUNTS_HEAD = """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):"""


def spike_counts(
    *,
    n_ref="round(tau_ref / dt)",
    start="torch.where(fired, 0.0, Vm)",
    fires="(Vm >= Vth) & ~resting",
    counts="torch.zeros(Is.shape, dtype=torch.int64)",
    add="fired",
    set_ref="n_ref",
) -> str:
    """A lif_spike_counts that follows the statement except for the pieces given."""
    return (
        COUNTS_HEAD
        + f"""
    n_steps, n_ref = round(T / dt), {n_ref}
    Vm = torch.zeros_like(Is)
    steps_left = torch.zeros(Is.shape, dtype=torch.int64)
    fired = torch.zeros(Is.shape, dtype=torch.bool)
    counts = {counts}
    for _ in range(n_steps):
        resting = steps_left > 0
        V = {start}
        Vm = torch.where(resting, 0.0, V + dt / Cm * (-V / Rm + Is))
        fired = {fires}
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += {add}
        steps_left = torch.where(fired, {set_ref}, steps_left - resting.long())
    return counts
"""
    )


RATE_HEAD = """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I
    safe = torch.where(drive > Vth, drive, 2.0 * abs(Vth) + 1.0)"""


def rate(rate="1.0 / (tau_ref + Rm * Cm * torch.log(safe / (safe - Vth)))", keep="drive > Vth"):
    """A lif_rate_theory that follows the statement except for the pieces given."""
    return RATE_HEAD + f"\n    return torch.where({keep}, {rate}, torch.zeros_like(drive))\n"


MISTAKES = {
    # ---------------------------------------------------------------- run_LIF
    "run_LIF_float_time_refractory": Mistake(
        # The Neuromatch material's rule: integrate again once the float time passes
        # t_spike + tau_ref (dt=1, tau_ref=2.7 holds 2 steps instead of 3), and no reset.
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    time = torch.arange(n + 1, dtype=torch.float32) * dt
    Vm = torch.zeros(n + 1)
    t_rest = -1.0
    for i in range(1, n + 1):
        if time[i] > t_rest:
            Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
            if Vm[i] >= Vth:
                Vm[i] += V_spike
                t_rest = time[i] + tau_ref
    return time, Vm
"""
        },
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_reset"},
        says=("1 ステップ短い", "時刻の比較", "リセットがありません"),
    ),
    "run_LIF_rounds_halves_up": Mistake(
        # Rounds half up (int(x + 0.5)): tau_ref = 2.5 at dt = 1 gives 3 steps, 0.5 gives 1.
        cells={
            "run_LIF": run_lif(steps="n = int(T / dt + 0.5)\n    n_ref = int(tau_ref / dt + 0.5)")
        },
        fails={"run_LIF_time_axis", "run_LIF_refractory", "run_LIF_reset"},
        says=("四捨五入", "1 ステップ長い", "round(0.5) = 0"),
    ),
    "run_LIF_int_time_axis": Mistake(
        # torch.arange(n + 1) * dt stays int64 for an int dt.
        cells={"run_LIF": run_lif(time="torch.arange(n + 1) * dt")},
        fails={"run_LIF_time_axis"},
        says=("int64", "dtype=torch.float32"),
    ),
    "run_LIF_charging_without_leak": Mistake(
        # Drops the leak term: the membrane integrates the current only.
        cells={"run_LIF": run_lif(charge="V + dt / Cm * I")},
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule", "run_LIF_reset"},
        says=("充電がオイラー法と違います",),
    ),
    "run_LIF_refractory_one_step_short": Mistake(
        cells={"run_LIF": run_lif(until="i + n_ref - 1")},
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule"},
        says=("1 ステップ短い", "0 に保ったステップが 99 個"),
    ),
    "run_LIF_holds_value_while_refractory": Mistake(
        # Keeps the previous value during the refractory period instead of 0.
        cells={"run_LIF": run_lif(held="Vm[i] = Vm[i - 1]\n            continue")},
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule"},
        says=("不応期の間 Vm を 0 にしていません",),
    ),
    "run_LIF_no_refractory_period": Mistake(
        # Resets after a spike but never holds any step.
        cells={"run_LIF": run_lif(until="0")},
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule"},
        says=("不応期", "がありません"),
    ),
    "run_LIF_no_reset_when_n_ref_is_0": Mistake(
        # The old definition: the reset only through the refractory steps.
        cells={"run_LIF": run_lif(start="Vm[i - 1]")},
        fails={"run_LIF_reset"},
        says=("リセットがありません",),
    ),
    "run_LIF_forgets_V_spike": Mistake(
        cells={"run_LIF": run_lif(spike="pass")},
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule", "run_LIF_reset"},
        says=("V_spike = 0.5 が足されていません",),
    ),
    "run_LIF_strict_threshold": Mistake(
        # Fires on Vm > Vth: a potential landing exactly on the threshold does not fire.
        cells={"run_LIF": run_lif(fires="Vm[i] > Vth")},
        fails={"run_LIF_spike_rule"},
        says=("等号を含めて",),
    ),
    # ------------------------------------------------------- lif_spike_counts
    "lif_spike_counts_loops_over_currents_is_correct": Mistake(
        # Correct, only slow: it must keep full marks.
        cells={
            "lif_spike_counts": COUNTS_HEAD
            + """
    params = dict(T=T, dt=dt, tau_ref=tau_ref, Rm=Rm, Cm=Cm, Vth=Vth, V_spike=V_spike)
    return torch.tensor([int((run_LIF(float(I), **params)[1] > Vth).sum()) for I in Is])
"""
        },
        fails=set(),
    ),
    "lif_spike_counts_shared_refractory": Mistake(
        # One refractory clock for the whole population instead of one per neuron.
        cells={
            "lif_spike_counts": COUNTS_HEAD
            + """
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    Vm = torch.zeros_like(Is)
    fired = torch.zeros(Is.shape, dtype=torch.bool)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    wait = 0
    for _ in range(n_steps):
        if wait > 0:
            wait -= 1
            Vm = torch.zeros_like(Is)
            fired = torch.zeros(Is.shape, dtype=torch.bool)
            continue
        V = torch.where(fired, 0.0, Vm)
        Vm = V + dt / Cm * (-V / Rm + Is)
        fired = Vm >= Vth
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += fired
        if fired.any():
            wait = n_ref
    return counts
"""
        },
        fails={
            "lif_spike_counts_values",
            "lif_spike_counts_per_neuron",
            "lif_spike_counts_dtype_and_input",
        },
        says=("1 つの不応期を共有",),
    ),
    "lif_spike_counts_counts_steps_above_threshold": Mistake(
        # No spike, reset or refractory logic: counts every step with Vm >= Vth.
        cells={
            "lif_spike_counts": COUNTS_HEAD
            + """
    Vm = torch.zeros_like(Is)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    for _ in range(round(T / dt)):
        Vm = Vm + dt / Cm * (-Vm / Rm + Is)
        counts += Vm >= Vth
    return counts
"""
        },
        fails={
            "lif_spike_counts_values",
            "lif_spike_counts_per_neuron",
            "lif_spike_counts_dtype_and_input",
        },
        says=("リセットと不応期がありません",),
    ),
    "lif_spike_counts_strict_threshold": Mistake(
        cells={"lif_spike_counts": spike_counts(fires="(Vm > Vth) & ~resting")},
        fails={"lif_spike_counts_per_neuron"},
        says=("Vm >= Vth (等号を含む)",),
    ),
    "lif_spike_counts_no_reset_when_n_ref_is_0": Mistake(
        cells={"lif_spike_counts": spike_counts(start="Vm")},
        fails={"lif_spike_counts_values", "lif_spike_counts_per_neuron"},
        says=("V = 0 から積分していますか",),
    ),
    "lif_spike_counts_returns_float": Mistake(
        cells={
            "lif_spike_counts": spike_counts(counts="torch.zeros(Is.shape)", add="fired.float()")
        },
        fails={"lif_spike_counts_dtype_and_input"},
        says=("torch.int64",),
    ),
    "lif_spike_counts_refractory_one_step_short": Mistake(
        cells={"lif_spike_counts": spike_counts(set_ref="n_ref - 1")},
        fails={"lif_spike_counts_values", "lif_spike_counts_per_neuron"},
        says=("1 ステップ短く",),
    ),
    "lif_spike_counts_mutates_Is": Mistake(
        # Scales the caller's currents in place to save a multiplication per step.
        cells={
            "lif_spike_counts": COUNTS_HEAD
            + """
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    drive = Is.mul_(dt / Cm)
    Vm = torch.zeros_like(Is)
    steps_left = torch.zeros(len(Is), dtype=torch.int64)
    fired = torch.zeros(len(Is), dtype=torch.bool)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    for _ in range(n_steps):
        resting = steps_left > 0
        V = torch.where(fired, 0.0, Vm)
        Vm = torch.where(resting, 0.0, V - dt / Cm * V / Rm + drive)
        fired = (Vm >= Vth) & ~resting
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += fired
        steps_left = torch.where(fired, n_ref, steps_left - resting.long())
    return counts
"""
        },
        fails={"lif_spike_counts_dtype_and_input"},
        says=("書き換えられました",),
    ),
    # -------------------------------------------------------- lif_rate_theory
    "lif_rate_theory_nan_below_threshold": Mistake(
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    return 1.0 / (tau_ref + Rm * Cm * torch.log(Rm * I / (Rm * I - Vth)))
"""
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
        says=("NaN",),
    ),
    "lif_rate_theory_log10": Mistake(
        cells={
            "lif_rate_theory": rate(
                rate="1.0 / (tau_ref + Rm * Cm * torch.log10(safe / (safe - Vth)))"
            )
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
        says=("log10",),
    ),
    "lif_rate_theory_ratio_upside_down": Mistake(
        cells={
            "lif_rate_theory": rate(
                rate="1.0 / (tau_ref + Rm * Cm * torch.log((safe - Vth) / safe))"
            )
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
        says=("分数が逆",),
    ),
    "lif_rate_theory_spikes_per_second": Mistake(
        cells={
            "lif_rate_theory": rate(
                rate="1000.0 / (tau_ref + Rm * Cm * torch.log(safe / (safe - Vth)))"
            )
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
        says=("スパイク/秒",),
    ),
    "lif_rate_theory_threshold_on_I": Mistake(
        # Compares I with Vth instead of Rm * I with Vth.
        cells={"lif_rate_theory": rate(keep="(I > Vth) & (drive > Vth)")},
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
        says=("Rm * I と Vth を比べて",),
    ),
    "lif_rate_theory_forgets_tau_ref": Mistake(
        cells={"lif_rate_theory": rate(rate="1.0 / (Rm * Cm * torch.log(safe / (safe - Vth)))")},
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
        says=("tau_ref を足し忘れて",),
    ),
}
