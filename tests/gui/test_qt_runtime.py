"""The installed Qt bindings can carry a long session.

PySide6 6.12.0 drops a reference to ``None`` / ``True`` on every void call and signal
emit; on CPython 3.11 (not immortal there) a session aborts after some thousands of
calls. pyproject excludes that release; this canary runs in a child process so that a
bad build fails one test with a clear message instead of killing the whole run.
"""

import subprocess
import sys

CHILD = """
from PySide6.QtCore import QObject, Signal

class Emitter(QObject):
    fired = Signal(object)

emitter = Emitter()
emitter.fired.connect(lambda value: None)
for _ in range(50_000):  # far more than None's or True's own reference count
    emitter.fired.emit(None)
    emitter.setObjectName("x")
print("ok")
"""


def test_many_qt_calls_and_emits_do_not_abort_the_interpreter():
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        "these PySide6 bindings corrupt reference counts (exclude the release in "
        f"pyproject.toml):\n{result.stderr[-2000:]}"
    )
