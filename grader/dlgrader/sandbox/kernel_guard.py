# The test guard of a grading kernel: an IPython start-up file (standard library only).
#
# SandboxKernelManager copies this file into the kernel's private profile, so it runs
# when the kernel starts, before any student code. It snapshots the interpreter's
# execution machinery and registers the module ``_dlcourse_guard``, which the grader
# (GuardedExecute, out of the kernel) calls through ``user_expressions`` of silent
# requests, which bypass input transformers, AST transformers and cell events:
#
# - ``baseline()`` before the first answer cell: remembers the test helpers (torch,
#   numpy and dlcourse functions, and the names the notebook imported).
# - ``arm(nonce)`` before every graded test cell: puts back whatever student code
#   changed (input and AST transformers, event callbacks, run_cell / showtraceback and
#   the kernel's do_execute, builtins, trace and profile functions, test helpers) and
#   installs a one-shot AST transformer that makes the test cell call ``done(nonce)``
#   as its very last step. It returns what it had to put back.
# - ``verdict(nonce)`` after the cell: did the cell run to its end? It also removes
#   the cell's source from the input history and linecache, so that later cells
#   cannot print hidden tests.
#
# Everything here runs inside the student's interpreter, so an attacker who knows this
# mechanism can defeat it; the grader therefore also scans the submission's source
# (dlgrader.job.integrity) and treats a guard that does not answer as tampering.


def install():  # noqa: C901 - one closure keeps the guard's state out of reach of names
    import ast
    import builtins
    import json
    import linecache
    import os
    import sys
    import threading
    import types

    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    kernel = getattr(shell, "kernel", None)

    # nbgrader fails a test cell that wrote anything to stderr, so a correct answer
    # whose library call warns (torch.tensor(tensor), np.array(tensor), ...) would lose
    # the cell. Warnings are shown on stdout instead: the text stays, the grade is right.
    import warnings

    def show_on_stdout(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show_on_stdout
    hidden_marker = "BEGIN HIDDEN TESTS"
    shell_methods = (
        "run_cell",
        "run_cell_async",
        "_run_cell",
        "run_ast_nodes",
        "run_code",
        "transform_cell",
        "transform_ast",
        "showtraceback",
        "_showtraceback",
        "showsyntaxerror",
        "user_expressions",
        "ev",
        "ex",
        "should_run_async",
    )
    kernel_methods = ("do_execute", "execute_request", "_publish_execute_input")
    library = tuple(
        os.path.realpath(path) + os.sep
        for path in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    )
    watched_modules = (
        "builtins",
        "math",
        "numpy",
        "numpy.testing",
        "torch",
        "torch.nn",
        "torch.nn.functional",
        "torch.testing",
        "dlcourse",
        "dlcourse.testing",
    )
    skipped_builtins = {"input", "raw_input", "getpass", "display", "get_ipython"}

    def class_methods(obj, names):
        found = {}
        if obj is None:
            return found
        for name in names:
            if name in vars(obj):
                found[(None, name)] = vars(obj)[name]
        for klass in type(obj).__mro__:
            for name in names:
                if name in vars(klass):
                    found[(klass, name)] = vars(klass)[name]
        return found

    manager = shell.input_transformer_manager
    lists = {
        "input_transformers_post": (shell, "input_transformers_post"),
        "input_transformers_cleanup": (manager, "cleanup_transforms"),
        "line_transforms": (manager, "line_transforms"),
        "token_transformers": (manager, "token_transformers"),
        "ast_transformers": (shell, "ast_transformers"),
    }
    pristine = {
        "lists": {
            key: (getattr(owner, attr), list(getattr(owner, attr)))
            for key, (owner, attr) in lists.items()
        },
        "events": shell.events,
        "callbacks": {name: list(cbs) for name, cbs in shell.events.callbacks.items()},
        "callback_lists": dict(shell.events.callbacks),
        "builtins": dict(vars(builtins)),
        "trace": sys.gettrace(),
        "profile": sys.getprofile(),
        "excepthook": sys.excepthook,
        "shell_methods": class_methods(shell, shell_methods),
        "kernel_methods": class_methods(kernel, kernel_methods),
        "manager": manager,
        "compile": shell.compile,
        "interactivity": shell.ast_node_interactivity,
        "user_ns": shell.user_ns,
    }
    state = {"baseline": None, "completed": set()}
    missing = object()

    class Proof(ast.NodeTransformer):
        """One-shot: the next cell's last statement also reports ``done(nonce)``."""

        def __init__(self, nonce):
            self.nonce = nonce

        def visit_Module(self, node):  # noqa: N802 - ast's name
            try:
                if self in shell.ast_transformers:
                    shell.ast_transformers.remove(self)
                report = ast.Attribute(
                    value=ast.Call(
                        func=ast.Name(id="__import__", ctx=ast.Load()),
                        args=[ast.Constant(value="_dlcourse_guard")],
                        keywords=[],
                    ),
                    attr="done",
                    ctx=ast.Load(),
                )
                args = [ast.Constant(value=self.nonce)]
                last = node.body[-1] if node.body else None
                if isinstance(last, ast.Expr):
                    last.value = ast.copy_location(
                        ast.Call(func=report, args=[*args, last.value], keywords=[]), last.value
                    )
                else:
                    call = ast.Expr(value=ast.Call(func=report, args=args, keywords=[]))
                    if last is not None:
                        ast.copy_location(call, last)
                        call.lineno = call.end_lineno = getattr(last, "end_lineno", 1)
                    node.body.append(call)
                ast.fix_missing_locations(node)
            except Exception:  # noqa: BLE001 - never let IPython unregister us with a warning
                pass
            return node

    def trusted(item, originals):
        if any(item is original for original in originals):
            return True
        if isinstance(item, Proof):
            return True
        func = getattr(item, "__func__", item)
        code = getattr(func, "__code__", None)
        if code is None:
            return False
        return os.path.realpath(code.co_filename).startswith(library)

    def restore_methods(obj, names, originals, label, changed):
        if obj is None:
            return
        for name in names:
            own = vars(obj).get(name)
            if (None, name) in originals:
                if own is not originals[(None, name)]:
                    setattr(obj, name, originals[(None, name)])
                    changed.append(f"{label}.{name}")
            elif name in vars(obj):
                delattr(obj, name)
                changed.append(f"{label}.{name}")
        for klass in type(obj).__mro__:
            for name in names:
                here = vars(klass).get(name)
                if (klass, name) in originals:
                    if here is not originals[(klass, name)]:
                        setattr(klass, name, originals[(klass, name)])
                        changed.append(f"{klass.__name__}.{name}")
                elif here is not None and klass not in (object,):
                    try:
                        delattr(klass, name)
                    except (AttributeError, TypeError):
                        continue
                    changed.append(f"{klass.__name__}.{name}")

    def restore():
        changed, quiet = [], []
        if shell.input_transformer_manager is not pristine["manager"]:
            shell.input_transformer_manager = pristine["manager"]
            changed.append("input_transformer_manager")
        for key, (owner, attr) in lists.items():
            original, items = pristine["lists"][key]
            if owner is shell and getattr(shell, attr) is not original:
                setattr(shell, attr, original)
                changed.append(key)
            current = getattr(owner, attr)
            kept = [item for item in current if trusted(item, items)]
            if len(kept) != len(current):
                changed.append(key)
                current[:] = kept
        if shell.events is not pristine["events"]:
            shell.events = pristine["events"]
            changed.append("events")
        callbacks = shell.events.callbacks
        for name, original in pristine["callback_lists"].items():
            if callbacks.get(name) is not original:
                callbacks[name] = original
                changed.append(f"events.{name}")
            kept = [cb for cb in original if trusted(cb, pristine["callbacks"][name])]
            if len(kept) != len(original):
                original[:] = kept
                changed.append(f"events.register('{name}')")
        restore_methods(shell, shell_methods, pristine["shell_methods"], "shell", changed)
        restore_methods(kernel, kernel_methods, pristine["kernel_methods"], "kernel", changed)
        if shell.compile is not pristine["compile"]:
            shell.compile = pristine["compile"]
            changed.append("shell.compile")
        if shell.ast_node_interactivity != pristine["interactivity"]:
            shell.ast_node_interactivity = pristine["interactivity"]
            changed.append("ast_node_interactivity")
        table = vars(builtins)
        for name, value in pristine["builtins"].items():
            if name.startswith("_") or name in skipped_builtins:
                continue
            if table.get(name) is not value:
                table[name] = value
                changed.append(f"builtins.{name}")
        if sys.gettrace() is not pristine["trace"]:
            sys.settrace(pristine["trace"])
            changed.append("sys.settrace")
        if getattr(threading, "_trace_hook", None) is not None:
            threading.settrace(None)
            changed.append("threading.settrace")
        if sys.getprofile() is not pristine["profile"]:
            sys.setprofile(pristine["profile"])
            changed.append("sys.setprofile")
        if sys.excepthook is not pristine["excepthook"]:
            sys.excepthook = pristine["excepthook"]
            changed.append("sys.excepthook")
        base = state["baseline"]
        if base:
            for owner, label, snapshot, is_class in base["owners"]:
                table = vars(owner)
                for name, value in list(snapshot.items()):
                    current = table.get(name, missing)
                    if current is value:
                        continue
                    if current is not missing and trusted(current, ()):
                        # The library rebound it itself (importing torch._dynamo wraps
                        # torch.manual_seed): its own code, not the student's.
                        snapshot[name] = current
                        continue
                    setattr(owner, name, value)
                    changed.append(f"{label}.{name}")
                if is_class:
                    for name in [n for n in table if n not in snapshot]:
                        if trusted(table[name], ()):
                            snapshot[name] = table[name]
                            continue
                        delattr(owner, name)
                        changed.append(f"{label}.{name}")
            user_ns = shell.user_ns
            for name, value in base["user"].items():
                if user_ns.get(name) is not value:
                    user_ns[name] = value
                    quiet.append(name)
        return changed, quiet

    def public(snapshot):
        return {k: v for k, v in snapshot.items() if not k.startswith("_")}

    def baseline():
        owners = []
        for name in watched_modules:
            module = sys.modules.get(name)
            if module is not None and name != "builtins":
                owners.append((module, name, public(dict(vars(module))), False))
        torch = sys.modules.get("torch")
        if torch is not None:
            owners.append((torch.Tensor, "torch.Tensor", dict(vars(torch.Tensor)), True))
        user = {}
        for name, value in shell.user_ns.items():
            if name.startswith("_"):
                continue
            origin = getattr(value, "__module__", None)
            if isinstance(value, types.ModuleType) or (
                callable(value) and isinstance(origin, str) and origin != "__main__"
            ):
                user[name] = value
        state["baseline"] = {"owners": owners, "user": user}
        return "baseline"

    def arm(nonce):
        changed, quiet = restore()
        shell.ast_transformers[:] = [t for t in shell.ast_transformers if not isinstance(t, Proof)]
        shell.ast_transformers.append(Proof(nonce))
        return json.dumps({"nonce": nonce, "changed": sorted(set(changed)), "names": quiet})

    def done(nonce, *value):
        state["completed"].add(nonce)
        return value[0] if value else None

    def forget_hidden_sources():
        history = shell.history_manager
        for name in ("_i00", "_i", "_ii", "_iii"):
            value = getattr(history, name, None)
            if isinstance(value, str) and hidden_marker in value:
                setattr(history, name, "")
        for lines in (history.input_hist_parsed, history.input_hist_raw):
            for index, text in enumerate(lines):
                if hidden_marker in text:
                    lines[index] = ""
        for name in [n for n in shell.user_ns if n.startswith("_i")]:
            value = shell.user_ns.get(name)
            if isinstance(value, str) and hidden_marker in value:
                shell.user_ns[name] = ""
        for cache in (linecache.cache, getattr(linecache, "_ipython_cache", {})):
            for key, entry in list(cache.items()):
                lines = entry[2] if isinstance(entry, tuple) and len(entry) > 2 else []
                if any(hidden_marker in line for line in lines):
                    cache[key] = (0, None, [], key)

    def verdict(nonce):
        forget_hidden_sources()
        report = {
            "completed": nonce in state["completed"],
            "trace": sys.gettrace() is not pristine["trace"],
        }
        return json.dumps(report)

    module = types.ModuleType("_dlcourse_guard")
    module.baseline, module.arm, module.done, module.verdict = baseline, arm, done, verdict
    sys.modules["_dlcourse_guard"] = module


if __name__ == "__main__":
    install()
    del install
