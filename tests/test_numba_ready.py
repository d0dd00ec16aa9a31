"""numba's CPU target is built by one thread before any other compiles (see
``cdcviewer/base/numba_ready.py``): a thread importing the kernels while another
compiled the SIGBUS handler deadlocked inside numba, and the window hung at "Loading…"."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cdcviewer

PACKAGE = Path(cdcviewer.__file__).parent
NUMBA_ENTRIES = ("njit", "jit", "cfunc", "intrinsic", "vectorize", "generated_jit")

RACE = """
import sys, threading
barrier = threading.Barrier(2)
def imports():
    barrier.wait()
    import cdcviewer.kernels.chunkers
def handler():
    barrier.wait()
    from cdcviewer.sources import sigbus
    sigbus.install()
threads = [threading.Thread(target=f, daemon=True) for f in (imports, handler)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
hung = any(t.is_alive() for t in threads)
print("hung" if hung else "done", flush=True)
import os
os._exit(3 if hung else 0)
"""


def _uses(node: ast.AST) -> bool:
    """A decorator or call that asks numba for its target."""
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in NUMBA_ENTRIES


def test_every_module_using_numba_makes_it_ready_first():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        if not any(isinstance(n, ast.Import | ast.ImportFrom) and "numba" in ast.dump(n)
                   for n in ast.walk(tree)):  # fmt: skip
            continue
        ready = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", "") == "numba_ready"]  # fmt: skip
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        uses = [d.lineno for n in functions for d in n.decorator_list if _uses(d)]
        if not uses:
            continue
        assert ready and min(ready) < min(uses), f"{path}: numba_ready() before line {min(uses)}"


def test_importing_kernels_while_compiling_the_sigbus_handler_does_not_hang():
    for _ in range(3):  # the race hung about one start in four before the fix
        run = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True,
                             timeout=180, check=False)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
