"""Chapter 08 benchmark: the I-F curve from a loop of run_LIF calls vs one lif_spike_counts call.

Loads the REFERENCE run_LIF and lif_spike_counts from the graded notebook
(solutions/08_lif_neuron), executing their solution cells with the solution
markers kept as comments, and times both ways of computing the widget's I-F
curve side by side in this one run, on the widget's settings (dlcourse.lif).
Times are the process's CPU time (one torch thread), so that other jobs on a
shared machine slow both sides alike.
Prints a small table; exits 1 when the vectorised version is less than
MIN_SPEEDUP times faster than the loop for the widget's currents. Run by
`make bench` (tools/bench.py); no test asserts timing.
"""

import sys
import time
from pathlib import Path

import nbformat
import torch

from dlcourse.lif import IF_CURRENTS, IF_SETTINGS, LIF_DEFAULTS, WIDGET_DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "08_lif_neuron" / "08_lif_neuron.ipynb"
MIN_SPEEDUP = 20.0
REPEAT = 3  # the best of REPEAT runs counts


def load_reference() -> dict:
    """Namespace with the reference solutions of the chapter's code cells."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {"torch": torch}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            exec(compile(cell.source, f"{NOTEBOOK.name}:{meta['grade_id']}", "exec"), namespace)
    return namespace


def best_time(func, repeat: int = REPEAT) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = func()
        best = min(best, time.process_time() - start)
    return best, result


def main() -> int:
    torch.set_num_threads(1)  # tiny tensors: threads only add noise
    reference = load_reference()
    run_LIF, lif_spike_counts = reference["run_LIF"], reference["lif_spike_counts"]
    params = {
        **LIF_DEFAULTS,
        **IF_SETTINGS,
        "Rm": WIDGET_DEFAULTS["Rm"],
        "tau_ref": WIDGET_DEFAULTS["tau_ref"],
    }
    vth = params["Vth"]

    def loop(currents):
        return torch.tensor([int((run_LIF(float(I), **params)[1] > vth).sum()) for I in currents])

    print(
        f"I-F curve over T = {params['T']:g} ms, dt = {params['dt']:g} ms "
        f"(Rm = {params['Rm']:g}, tau_ref = {params['tau_ref']:g}); CPU time, "
        f"best of {REPEAT} calls of lif_spike_counts"
    )
    print()
    print("| currents | loop of run_LIF (ms) | lif_spike_counts (ms) | speed-up |")
    print("|---:|---:|---:|---:|")
    widget_speedup = None
    n_widget = len(IF_CURRENTS)
    for n in sorted({10, n_widget}):
        currents = torch.linspace(float(IF_CURRENTS[0]), float(IF_CURRENTS[-1]), n)
        loop_time, loop_counts = best_time(lambda currents=currents: loop(currents), 1 + (n < 50))
        vec_time, vec_counts = best_time(
            lambda currents=currents: lif_spike_counts(currents, **params)
        )
        if not torch.equal(loop_counts, vec_counts):
            print(
                f"counts differ for {n} currents: {loop_counts.tolist()} vs {vec_counts.tolist()}"
            )
            return 1
        speedup = loop_time / vec_time
        label = f"{n} (widget)" if n == n_widget else str(n)
        print(f"| {label} | {1e3 * loop_time:.0f} | {1e3 * vec_time:.1f} | {speedup:.1f}x |")
        if n == n_widget:
            widget_speedup = speedup
    print()
    verdict = "ok" if widget_speedup >= MIN_SPEEDUP else "TOO SLOW"
    print(
        f"Speed-up for the widget's {n_widget} currents: {widget_speedup:.1f}x "
        f"(required: {MIN_SPEEDUP:g}x): {verdict}"
    )
    return 0 if widget_speedup >= MIN_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())
