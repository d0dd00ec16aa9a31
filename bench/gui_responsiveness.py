"""The window's responsiveness (issues 5, 16): launch, GUI-thread stalls, quit, redraws.

    python bench/gui_responsiveness.py [--platform both|xvfb|offscreen] [--count 68]
        [--total-mib 3072] [--runs 3] [--whatif] [--only launch|stalls|quit|raster]

By default every measurement runs twice: on a real X server (its own Xvfb with openbox
on a free display, the xcb platform: what a user gets, paints included) and offscreen.

1. Launch: a fresh ``python -m cdcviewer`` until the window first paints. The window
   prints ``cdcviewer-window-painted <unix time>`` when ``CDCVIEWER_STARTUP_PROBE=1``
   (see ``gui/app.py``); the time is taken from just before the process is
   spawned. Cold: ``NUMBA_CACHE_DIR`` is an empty folder, so the kernels compile (in the
   background, while the window shows); warm: a folder the kernels were cached in first.
   Settings and caches of the children go to a temporary ``HOME``.
2. Stalls: a 10 ms precise ``QTimer`` on the GUI thread records the gaps between its
   ticks while the window loads and analyses many real layers (``bench/many_layers.py``:
   ``--count`` tars of this machine's files, about ``--total-mib`` MiB, every fourth
   gzip'd; the last four are held back for the drop), while the Files panel reads their
   tar headers and hashes their files, through 20 parameter changes one every 150 ms (a
   hand on a slider), through a drop of four more layers while another analysis runs
   and, with ``--whatif``, while the layouts are compared. A stall is how late a tick
   came: gap - 10 ms. Target: never above 100 ms. A watchdog thread samples the GUI
   thread's stack whenever a tick is over 50 ms late; the most frequent stacks are
   printed, so a stall names its cause.
4. Quit: ``python -m cdcviewer`` with the layers, closed (Ctrl+Q through xdotool on
   Xvfb, SIGINT offscreen) while it is still loading; seconds to the process's exit.
   Target: under 0.5 s.
3. Map: ``LanePixels.pixels`` for a lane of 1,048,576 chunks at 1600 px (whole lane and
   zoomed), and ``LayerMapView.refresh`` (the full redraw: rasterise every lane, set the
   images, draw boundaries and marks) of that lane at 1600 px. Target: under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import BENCH_DIR, best_of, random_file
from many_layers import many_layers

ROOT = Path(__file__).resolve().parents[1]
PROBE_ENV = "CDCVIEWER_STARTUP_PROBE"
PROBE_MARK = "cdcviewer-window-painted"
TICK_MS = 10
STALL_LIMIT_MS = 100.0
LAUNCH_LIMIT_S = 1.5
QUIT_LIMIT_S = 0.5
SAMPLE_LATE_MS = 50.0
RASTER_LIMIT_MS = 50.0
LANE_CHUNKS = 1 << 20
MAP_WIDTH = 1600
SLIDER_CHANGES = 20
SLIDER_PAUSE_S = 0.15

Row = tuple[str, str, str]  # measurement, result, target


# -- 1. launch time ------------------------------------------------------------------------
def child_env(home: Path, numba_cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            PROBE_ENV: "1",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "NUMBA_CACHE_DIR": str(numba_cache),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def launch_seconds(env: dict[str, str], timeout_s: float = 60.0) -> float:
    """Seconds from spawning ``python -m cdcviewer`` to its first paint."""
    started = time.time()
    child = subprocess.Popen(
        [sys.executable, "-m", "cdcviewer"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        deadline = started + timeout_s
        while time.time() < deadline:
            ready, _, _ = select.select([child.stdout], [], [], 0.5)
            if not ready:
                if child.poll() is not None:
                    raise RuntimeError(f"cdcviewer exited with {child.returncode}")
                continue
            line = child.stdout.readline()
            if line.startswith(PROBE_MARK):
                return float(line.split()[1]) - started
        raise RuntimeError("the window did not paint in time")
    finally:
        child.send_signal(signal.SIGINT)  # closes the window properly (caches removed)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def prime_numba_cache(env: dict[str, str]) -> None:
    """Compile the kernels once into ``env``'s NUMBA_CACHE_DIR, as a first run leaves it."""
    code = "from cdcviewer.gui.app import warm_up_kernels; warm_up_kernels().join()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def measure_launch(runs: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cdcviewer-launch-") as tmp:
        base = Path(tmp)
        warm_cache = base / "numba-warm"
        prime_numba_cache(child_env(base / "home-prime", warm_cache))
        for label, cache_for_run in (
            ("cold", lambda k: base / f"numba-cold-{k}"),  # a new empty folder each run
            ("warm", lambda k: warm_cache),
        ):
            times = [
                launch_seconds(child_env(base / f"home-{label}-{k}", cache_for_run(k)))
                for k in range(runs)
            ]
            rows.append(
                (
                    f"launch to first paint, numba cache {label}",
                    f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
                    f"({runs} runs)",
                    f"< {LAUNCH_LIMIT_S:g} s",
                )
            )
    return rows


# -- 2. GUI-thread stalls ------------------------------------------------------------------
class TickProbe:
    """Records when a precise 10 ms timer on the GUI thread actually fires."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> list[float]:
        """Stalls (ms late) of every tick since ``start``."""
        self.timer.stop()
        gaps = [1000 * (b - a) for a, b in zip(self.ticks, self.ticks[1:], strict=False)]
        return [max(0.0, gap - TICK_MS) for gap in gaps]


class StallSampler:
    """A watchdog thread that samples the GUI thread's stack while a tick is late.

    Python frames only (the GUI thread holds the GIL or waits for it while Qt runs C++):
    enough to name the Python code a stall is spent in, or show it waiting in Qt.
    """

    def __init__(self, probe: TickProbe) -> None:
        import threading
        from collections import Counter

        self.probe = probe
        self.gui = threading.get_ident()
        self.stacks: Counter[str] = Counter()
        self.others: Counter[str] = Counter()  # other threads, during stalls over the limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import threading
        import traceback

        while not self._stop.wait(0.01):
            ticks = self.probe.ticks
            if not ticks or not self.probe.timer.isActive():
                continue
            late = 1000 * (time.perf_counter() - ticks[-1]) - TICK_MS
            if late < SAMPLE_LATE_MS:
                continue
            current = sys._current_frames()
            frame = current.get(self.gui)
            if frame is None:
                continue
            frames = traceback.extract_stack(frame)[-6:]
            self.stacks[" < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                   for f in reversed(frames))] += 1  # fmt: skip
            if late >= STALL_LIMIT_MS:  # what the other threads run then: who has the GIL
                names = {t.ident: t.name for t in threading.enumerate()}
                for ident, other in current.items():
                    if ident in (self.gui, threading.get_ident()):
                        continue
                    top = traceback.extract_stack(other)[-2:]
                    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                       for f in reversed(top))  # fmt: skip
                    self.others[f"{names.get(ident, '?')}: {where}"] += 1

    def report(self, top: int = 5) -> list[str]:
        self._stop.set()
        lines = [f"{count:4d} x {stack}" for stack, count in self.stacks.most_common(top)]
        if self.others:
            lines.append(f"other threads during stalls over {STALL_LIMIT_MS:.0f} ms:")
            lines += [f"{count:4d} x {where}" for where, count in self.others.most_common(top)]
        return lines


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def measure_stalls(count: int, total_mib: float, with_whatif: bool) -> list[Row]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from cdcviewer.analysis.workspace import Workspace
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.gui.app import keep_start_up_objects, make_application, warm_up_kernels
    from cdcviewer.sources.cache import CacheDir

    paths = many_layers(count, total_mib)
    first, held_back = paths[:-4], paths[-4:]  # the last four arrive by a drop later
    first_mib = sum(p.stat().st_size for p in first) / (1 << 20)
    warm_up_kernels().join()  # compiling is launch's business, measured above
    app = make_application(["cdcviewer-bench"])
    from cdcviewer.gui.main_window import MainWindow

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cdcviewer-stalls-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, workspace=Workspace(CacheDir(Path(tmp) / "c")))
        window.resize(1560, 960)
        window.show()
        keep_start_up_objects()  # as the app does once its window is built
        probe = TickProbe()
        sampler = StallSampler(probe)

        def idle() -> bool:
            # Done when nothing is queued and the panel's parameters are the ones shown.
            shown = window.jobs.analysis is not None and window.jobs.analysis.params
            return window.jobs.idle and shown == window.views.controls.params()

        def phase(name: str, start: Callable[[], None]) -> None:
            pump(app, 0.3)  # let the window settle between phases
            probe.start()
            began = time.perf_counter()
            start()
            pump(app, 1800, idle)
            seconds = time.perf_counter() - began
            ticks = list(probe.ticks)
            stalls = probe.stop()
            worst = max(stalls, default=0.0)
            for k, stall in enumerate(stalls):  # when, to tell what the window was doing
                if stall > STALL_LIMIT_MS:
                    at = ticks[k] - began
                    print(f"  {name}: {stall:.0f} ms at {at:.2f} s of {seconds:.1f} s")
            rows.append(
                (
                    f"GUI stall: {name} ({seconds:.1f} s)",
                    f"max {worst:.0f} ms, p99 {percentile(stalls, 0.99):.0f} ms, "
                    f"{sum(s > STALL_LIMIT_MS for s in stalls)} over {STALL_LIMIT_MS:.0f}",
                    f"< {STALL_LIMIT_MS:.0f} ms",
                )
            )

        def slider_changes() -> None:
            # Each change is announced at once (flush: the slider's debounce has passed),
            # so every one starts an analysis that the next one supersedes.
            avgs = [8 << 10, 16 << 10, 24 << 10, 32 << 10, 48 << 10]
            for k in range(SLIDER_CHANGES):
                avg = avgs[k % len(avgs)] * (1 + k // len(avgs))
                window.views.controls.set_params(ChunkerParams.for_avg(avg), emit=True)
                window.views.controls.flush()
                pump(app, SLIDER_PAUSE_S)

        def drop_during_analysis() -> None:
            window.views.controls.set_params(ChunkerParams(), emit=True)
            window.views.controls.flush()  # an analysis of every layer starts ...
            pump(app, 1.0)
            window.jobs.load_paths(held_back)  # ... and four more layers are dropped

        window.views.controls.set_params(ChunkerParams())
        phase(
            f"load + analyse {len(first)} layers, {first_mib:.0f} MiB as given",
            lambda: window.jobs.load_paths(first),
        )
        phase("Files panel: read tar headers, hash files", window.views.docks["files"].raise_)
        phase(f"{SLIDER_CHANGES} parameter changes, 150 ms apart", slider_changes)
        phase("a drop of 4 layers while another analysis runs", drop_during_analysis)
        if with_whatif:
            phase("compare layouts (what-if)", window.jobs.run_whatif)
        lanes = window.views.map_view.lane_count
        rows.append(("lanes on the map at the end", f"{lanes}", f"{len(paths)}"))
        window.shutdown()
        window.deleteLater()
        pump(app, 0.1)
        print("GUI-thread stacks sampled during stalls over 50 ms (most frequent first):")
        for line in sampler.report() or ["  none"]:
            print("  " + line)
    QApplication.processEvents()
    return rows


# -- 4. quitting while busy ----------------------------------------------------------------
def measure_quit(count: int, total_mib: float, runs: int) -> list[Row]:
    """Seconds from the close request to the process's exit, while it loads."""
    paths = [str(p) for p in many_layers(count, total_mib)]
    times = []
    with tempfile.TemporaryDirectory(prefix="cdcviewer-quit-") as tmp:
        prime_numba_cache(child_env(Path(tmp) / "home-prime", Path(tmp) / "numba"))
        for k in range(runs):
            env = child_env(Path(tmp) / f"home-{k}", Path(tmp) / "numba")
            env["CDCVIEWER_CACHE_DIR"] = str(Path(tmp) / "cache")
            child = subprocess.Popen([sys.executable, "-m", "cdcviewer", *paths], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)  # fmt: skip
            assert child.stdout is not None
            while not child.stdout.readline().startswith(PROBE_MARK):
                pass
            time.sleep(4.0)  # well into loading and hashing
            if env.get("DISPLAY"):
                found = subprocess.run(["xdotool", "search", "--onlyvisible", "--class",
                                        "^cdcviewer$"], env=env, capture_output=True,
                                       text=True, check=False)  # fmt: skip
                window_id = found.stdout.split()[-1]
                subprocess.run(["xdotool", "windowactivate", "--sync", window_id], env=env,
                               check=False, timeout=20)  # fmt: skip
                time.sleep(0.3)
                began = time.perf_counter()
                subprocess.run(["xdotool", "key", "ctrl+q"], env=env, check=False)
            else:
                began = time.perf_counter()
                child.send_signal(signal.SIGINT)  # the handler runs within 250 ms
            try:
                child.wait(20)
                times.append(time.perf_counter() - began)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                times.append(float("inf"))
    how = "Ctrl+Q" if os.environ.get("DISPLAY") else "SIGINT"
    return [
        (
            f"quit ({how}) while loading {len(paths)} layers, to process exit",
            f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s ({runs} runs)",
            f"< {QUIT_LIMIT_S} s",
        )
    ]


def pump(app, seconds: float, until: Callable[[], bool] | None = None) -> None:
    """Run the event loop for ``seconds``, or until ``until()`` holds."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.002)


# -- 3. rasterising a lane of a million chunks ---------------------------------------------
def measure_raster() -> list[Row]:
    import numpy as np

    from cdcviewer.analysis.workspace import Workspace
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.gui.app import make_application
    from cdcviewer.gui.map.model import prepare_lanes
    from cdcviewer.gui.map.view import LayerMapView
    from cdcviewer.index.raster import LanePixels, chunk_colors
    from cdcviewer.sources.cache import CacheDir

    rng = np.random.default_rng(1)
    lengths = rng.integers(1024, 7168, LANE_CHUNKS).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    classes = rng.integers(0, 3, LANE_CHUNKS).astype(np.uint8)
    counts = rng.integers(2, 6, LANE_CHUNKS)
    lane = LanePixels(offsets, lengths, chunk_colors(classes, counts, 5))
    end = float(offsets[-1] + lengths[-1])
    whole = best_of(20, lambda: lane.pixels(0.0, end, MAP_WIDTH)) * 1000
    zoomed = best_of(20, lambda: lane.pixels(end * 0.4, end * 0.41, MAP_WIDTH)) * 1000
    rows = [
        (
            f"LanePixels.pixels, {LANE_CHUNKS:,} chunks, {MAP_WIDTH} px, whole lane",
            f"{whole:.1f} ms",
            f"< {RASTER_LIMIT_MS:.0f} ms",
        ),
        (
            f"LanePixels.pixels, {LANE_CHUNKS:,} chunks, {MAP_WIDTH} px, 1% zoom",
            f"{zoomed:.1f} ms",
            f"< {RASTER_LIMIT_MS:.0f} ms",
        ),
    ]

    # The map's redraw of a real lane: 256 MiB cut in fixed 256-byte chunks.
    app = make_application(["cdcviewer-bench"])
    source = random_file(256 << 20)
    with (
        tempfile.TemporaryDirectory(prefix="cdcviewer-raster-") as tmp,
        Workspace(CacheDir(Path(tmp) / "c"), workers=2) as workspace,
    ):
        workspace.add([source])
        analysis = workspace.analyze(ChunkerParams(chunker="fixed", avg_size=256))
        model = prepare_lanes(analysis)
        chunks = len(model.lanes[0])
        view = LayerMapView()
        view.resize(MAP_WIDTH + 200, 400)
        view.show()
        view.set_model(model)
        pump(app, 0.3)
        # Widen the window until the lanes themselves are MAP_WIDTH pixels wide.
        view.resize(view.width() + MAP_WIDTH - round(view._view.width()), 400)
        pump(app, 0.3)
        pixels = round(view._view.width() * view._graphics.devicePixelRatioF())
        full = best_of(10, lambda: (view.fit_all(), view.refresh())) * 1000
        # Rasterising and painting it: grab() renders the widget as a screen update does.
        painted = best_of(10, lambda: (view.refresh(), view.grab())) * 1000
        extent = model.extent
        view.highlight_range(0, extent // 3, extent // 3 + extent // 50)
        view.zoom_to(0, extent // 3, extent // 3 + extent // 50)
        zoom = best_of(10, view.refresh) * 1000
        view.close()
    rows += [
        (
            f"LayerMapView.refresh, {chunks:,} chunks, {pixels} px, whole lane",
            f"{full:.1f} ms",
            f"< {RASTER_LIMIT_MS:.0f} ms",
        ),
        (
            f"LayerMapView.refresh + paint (grab), {chunks:,} chunks, {pixels} px",
            f"{painted:.1f} ms",
            f"< {RASTER_LIMIT_MS:.0f} ms",
        ),
        (
            f"LayerMapView.refresh, {chunks:,} chunks, {pixels} px, 2% zoom + band",
            f"{zoom:.1f} ms",
            f"< {RASTER_LIMIT_MS:.0f} ms",
        ),
    ]
    return rows


def print_table(rows: list[Row]) -> None:
    headers = ("measurement", "result", "target")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def run_here(args: argparse.Namespace) -> None:
    """Every measurement asked for, on this process's platform."""
    platform = os.environ.get("QT_QPA_PLATFORM") or f"xcb on {os.environ.get('DISPLAY')}"
    print(f"platform {platform}, {os.cpu_count()} cores, inputs in {BENCH_DIR}", flush=True)
    rows: list[Row] = []
    if args.only in (None, "launch"):
        rows += measure_launch(args.runs)
    if args.only in (None, "stalls"):
        rows += measure_stalls(args.count, args.total_mib, args.whatif)
    if args.only in (None, "quit"):
        rows += measure_quit(args.count, args.total_mib, args.runs)
    if args.only in (None, "raster"):
        rows += measure_raster()
    print()
    print_table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=("both", "xvfb", "offscreen"), default="both")
    parser.add_argument("--count", type=int, default=68, help="layers (many_layers.py)")
    parser.add_argument("--total-mib", type=float, default=3072, help="their size, about")
    parser.add_argument("--runs", type=int, default=3, help="launches and quits per state")
    parser.add_argument("--whatif", action="store_true", help="also probe a what-if run")
    parser.add_argument("--only", choices=("launch", "stalls", "quit", "raster"))
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.here:
        run_here(args)
        return
    from tests.gui.xsession import missing_programs, x_session

    many_layers(args.count, args.total_mib)  # made once, outside the measurements
    forwarded = [a for a in sys.argv[1:] if not a.startswith("--platform")]
    if "--platform" in sys.argv:
        position = sys.argv.index("--platform")
        forwarded = sys.argv[1:position] + sys.argv[position + 2 :]
    command = [sys.executable, __file__, "--here", *forwarded]
    if args.platform in ("both", "xvfb"):
        if missing_programs():
            print(f"Xvfb run skipped: {', '.join(missing_programs())} not installed")
        else:
            with x_session() as env:
                subprocess.run(command, env=env, check=True)
            print()
    if args.platform in ("both", "offscreen"):
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env["QT_QPA_PLATFORM"] = "offscreen"
        subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
