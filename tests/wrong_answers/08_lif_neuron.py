"""Plausible mistakes in chapter 08's exercises, and the graded cells that must catch them.

One correct alternative is listed too (``fails`` empty): a ``lif_spike_counts``
that loops over the currents is only slow, and must keep full marks.
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

MISTAKES = {
    # ---------------------------------------------------------------- run_LIF
    "run_LIF_float_time_refractory": Mistake(
        # The seed's rule: integrate again once the float time passes t_spike + tau_ref.
        # With dt=1, tau_ref=2.7 it holds 2 steps instead of round(2.7) = 3.
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    time = torch.arange(n + 1) * float(dt)
    Vm = torch.zeros(n + 1)
    t_rest = 0.0
    for i in range(1, n + 1):
        if time[i] > t_rest:
            Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
            if Vm[i] >= Vth:
                Vm[i] += V_spike
                t_rest = time[i] + tau_ref
    return time, Vm
"""
        },
        fails={"run_LIF_trace", "run_LIF_refractory"},
    ),
    "run_LIF_seed_float_time_grid": Mistake(
        # The seed's arange(0, T + dt, dt) grid (one point too many for some T, dt)
        # and its float-time refractory comparison.
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    time = torch.arange(0, T + dt, dt)
    Vm = torch.zeros(len(time))
    t_rest = 0.0
    for i in range(1, len(time)):
        if time[i] > t_rest:
            Vm[i] = Vm[i - 1] + dt / Cm * (I - Vm[i - 1] / Rm)
            if Vm[i] >= Vth:
                Vm[i] = Vm[i] + V_spike
                t_rest = time[i] + tau_ref
    return time, Vm
"""
        },
        fails={"run_LIF_time_axis", "run_LIF_trace", "run_LIF_refractory"},
    ),
    "run_LIF_refractory_one_step_short": Mistake(
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    n_ref = round(tau_ref / dt)
    time = torch.arange(n + 1) * float(dt)
    Vm = torch.zeros(n + 1)
    wait = 0
    for i in range(1, n + 1):
        if wait > 1:  # counts the spike step as the first refractory step
            wait -= 1
            continue
        wait = 0
        Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            wait = n_ref
    return time, Vm
"""
        },
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule"},
    ),
    "run_LIF_refractory_one_step_long": Mistake(
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    n_ref = round(tau_ref / dt)
    time = torch.arange(n + 1) * float(dt)
    Vm = torch.zeros(n + 1)
    last_refractory = 0
    for i in range(1, n + 1):
        if i <= last_refractory:
            continue
        Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            last_refractory = i + n_ref + 1
    return time, Vm
"""
        },
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule"},
    ),
    "run_LIF_forgets_V_spike": Mistake(
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    n_ref = round(tau_ref / dt)
    time = torch.arange(n + 1) * float(dt)
    Vm = torch.zeros(n + 1)
    last_refractory = 0
    for i in range(1, n + 1):
        if i <= last_refractory:
            continue
        Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
        if Vm[i] >= Vth:
            last_refractory = i + n_ref
    return time, Vm
"""
        },
        fails={"run_LIF_trace", "run_LIF_refractory", "run_LIF_spike_rule"},
    ),
    "run_LIF_strict_threshold": Mistake(
        # Fires on Vm > Vth: a potential landing exactly on the threshold does not fire.
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    n_ref = round(tau_ref / dt)
    time = torch.arange(n + 1) * float(dt)
    Vm = torch.zeros(n + 1)
    last_refractory = 0
    for i in range(1, n + 1):
        if i <= last_refractory:
            continue
        Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
        if Vm[i] > Vth:
            Vm[i] += V_spike
            last_refractory = i + n_ref
    return time, Vm
"""
        },
        fails={"run_LIF_spike_rule"},
    ),
    "run_LIF_truncates_step_counts": Mistake(
        # int(0.7 / 0.1) is 6, not 7.
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = int(T / dt)
    n_ref = int(tau_ref / dt)
    time = torch.arange(n + 1) * float(dt)
    Vm = torch.zeros(n + 1)
    last_refractory = 0
    for i in range(1, n + 1):
        if i <= last_refractory:
            continue
        Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            last_refractory = i + n_ref
    return time, Vm
"""
        },
        fails={"run_LIF_time_axis", "run_LIF_trace", "run_LIF_refractory"},
    ),
    "run_LIF_returns_float64": Mistake(
        cells={
            "run_LIF": RUN_LIF_HEAD
            + """
    n = round(T / dt)
    n_ref = round(tau_ref / dt)
    time = torch.arange(n + 1, dtype=torch.float64) * dt
    Vm = torch.zeros(n + 1, dtype=torch.float64)
    last_refractory = 0
    for i in range(1, n + 1):
        if i <= last_refractory:
            continue
        Vm[i] = Vm[i - 1] + dt / Cm * (-Vm[i - 1] / Rm + I)
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            last_refractory = i + n_ref
    return time, Vm
"""
        },
        fails={"run_LIF_time_axis"},
    ),
    # ------------------------------------------------------- lif_spike_counts
    "lif_spike_counts_loops_over_currents_is_correct": Mistake(
        # Correct, only slow: it must keep full marks.
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    params = dict(T=T, dt=dt, tau_ref=tau_ref, Rm=Rm, Cm=Cm, Vth=Vth, V_spike=V_spike)
    return torch.tensor([int((run_LIF(float(I), **params)[1] > Vth).sum()) for I in Is])
"""
        },
        fails=set(),
    ),
    "lif_spike_counts_shared_refractory": Mistake(
        # One refractory clock for the whole population instead of one per neuron.
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    Vm = torch.zeros_like(Is)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    wait = 0
    for _ in range(n_steps):
        if wait > 0:
            wait -= 1
            Vm = torch.zeros_like(Is)
            continue
        Vm = Vm + dt / Cm * (-Vm / Rm + Is)
        fired = Vm >= Vth
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += Vm > Vth
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
    ),
    "lif_spike_counts_counts_steps_above_threshold": Mistake(
        # No spike, reset or refractory logic: counts every step with Vm >= Vth.
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
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
    ),
    "lif_spike_counts_strict_threshold": Mistake(
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    Vm = torch.zeros_like(Is)
    steps_left = torch.zeros(len(Is), dtype=torch.int64)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    for _ in range(n_steps):
        resting = steps_left > 0
        Vm = torch.where(resting, 0.0, Vm + dt / Cm * (-Vm / Rm + Is))
        fired = (Vm > Vth) & ~resting
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += fired
        steps_left = torch.where(fired, n_ref, steps_left - resting.long())
    return counts
"""
        },
        fails={"lif_spike_counts_per_neuron"},
    ),
    "lif_spike_counts_returns_float": Mistake(
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    Vm = torch.zeros_like(Is)
    steps_left = torch.zeros_like(Is)
    counts = torch.zeros_like(Is)
    for _ in range(n_steps):
        resting = steps_left > 0
        Vm = torch.where(resting, 0.0, Vm + dt / Cm * (-Vm / Rm + Is))
        fired = (Vm >= Vth) & ~resting
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += (Vm > Vth).float()
        steps_left = torch.where(fired, float(n_ref), steps_left - resting.float())
    return counts
"""
        },
        fails={"lif_spike_counts_dtype_and_input"},
    ),
    "lif_spike_counts_refractory_one_step_short": Mistake(
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    Vm = torch.zeros_like(Is)
    steps_left = torch.zeros(len(Is), dtype=torch.int64)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    for _ in range(n_steps):
        resting = steps_left > 0
        Vm = torch.where(resting, 0.0, Vm + dt / Cm * (-Vm / Rm + Is))
        fired = (Vm >= Vth) & ~resting
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += Vm > Vth
        steps_left = torch.where(fired, n_ref - 1, steps_left - resting.long())
    return counts
"""
        },
        fails={"lif_spike_counts_values", "lif_spike_counts_per_neuron"},
    ),
    "lif_spike_counts_float_time_refractory": Mistake(
        # The seed's refractory rule, vectorised: rest while the time is <= t_spike + tau_ref.
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    n_steps = round(T / dt)
    Vm = torch.zeros_like(Is)
    t_rest = torch.zeros_like(Is)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    for i in range(1, n_steps + 1):
        t = i * dt
        resting = t <= t_rest
        Vm = torch.where(resting, 0.0, Vm + dt / Cm * (-Vm / Rm + Is))
        fired = (Vm >= Vth) & ~resting
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += Vm > Vth
        t_rest = torch.where(fired, t + tau_ref, t_rest)
    return counts
"""
        },
        fails={"lif_spike_counts_values", "lif_spike_counts_per_neuron"},
    ),
    "lif_spike_counts_mutates_Is": Mistake(
        # Scales the caller's currents in place to save a multiplication per step.
        cells={
            "lif_spike_counts": """
def lif_spike_counts(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    n_steps, n_ref = round(T / dt), round(tau_ref / dt)
    drive = Is.mul_(dt / Cm)
    Vm = torch.zeros_like(Is)
    steps_left = torch.zeros(len(Is), dtype=torch.int64)
    counts = torch.zeros(len(Is), dtype=torch.int64)
    for _ in range(n_steps):
        resting = steps_left > 0
        Vm = torch.where(resting, 0.0, Vm - dt / Cm * Vm / Rm + drive)
        fired = (Vm >= Vth) & ~resting
        Vm = torch.where(fired, Vm + V_spike, Vm)
        counts += Vm > Vth
        steps_left = torch.where(fired, n_ref, steps_left - resting.long())
    return counts
"""
        },
        fails={"lif_spike_counts_dtype_and_input"},
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
    ),
    "lif_rate_theory_log10": Mistake(
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I
    rate = 1.0 / (tau_ref + Rm * Cm * torch.log10(drive / (drive - Vth)))
    return torch.where(drive > Vth, rate, torch.zeros_like(rate))
"""
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
    ),
    "lif_rate_theory_ratio_upside_down": Mistake(
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I
    rate = 1.0 / (tau_ref + Rm * Cm * torch.log((drive - Vth) / drive))
    return torch.where(drive > Vth, rate, torch.zeros_like(rate))
"""
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
    ),
    "lif_rate_theory_spikes_per_second": Mistake(
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I
    rate = 1000.0 / (tau_ref + Rm * Cm * torch.log(drive / (drive - Vth)))
    return torch.where(drive > Vth, rate, torch.zeros_like(rate))
"""
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
    ),
    "lif_rate_theory_threshold_on_I": Mistake(
        # Compares I with Vth instead of Rm * I with Vth.
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I
    rate = 1.0 / (tau_ref + Rm * Cm * torch.log(drive / (drive - Vth)))
    return torch.where(I > Vth, rate, torch.zeros_like(rate))
"""
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
    ),
    "lif_rate_theory_forgets_tau_ref": Mistake(
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I
    rate = 1.0 / (Rm * Cm * torch.log(drive / (drive - Vth)))
    return torch.where(drive > Vth, rate, torch.zeros_like(rate))
"""
        },
        fails={
            "lif_rate_theory_values",
            "lif_rate_theory_below_threshold",
            "lif_rate_theory_limits",
        },
    ),
    "lif_rate_theory_returns_float64": Mistake(
        cells={
            "lif_rate_theory": """
def lif_rate_theory(I, Rm, Cm, Vth, tau_ref):
    drive = Rm * I.double()
    rate = 1.0 / (tau_ref + Rm * Cm * torch.log(drive / (drive - Vth)))
    return torch.where(drive > Vth, rate, torch.zeros_like(rate))
"""
        },
        fails={"lif_rate_theory_values"},
    ),
}
