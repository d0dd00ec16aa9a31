"""The window's frame: one progress bar per job, the drop overlay, Remove All with Undo,
quitting without waiting for work, the map's hint."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cdcviewer.gui.panels.welcome import JobProgress
from cdcviewer.gui.session import Exported
from tests.gui.conftest import drag_enter, drop_paths, wait_idle


def test_job_progress_is_weighted_by_bytes_and_never_goes_back():
    work = JobProgress({"big": 900, "small": 100})
    assert work.report("small", "hash", 1.0) == pytest.approx(0.1 * 0.6)
    assert work.report("big", "hash", 0.5) == pytest.approx(0.9 * 0.3 + 0.1 * 0.6)
    after_hash = work.report("big", "hash", 1.0)
    # Fingerprinting starts where hashing ended: the bar does not restart per phase.
    assert work.report("big", "fingerprint", 0.0) == pytest.approx(after_hash)
    assert work.report("big", "fingerprint", 1.0) == pytest.approx(0.9 + 0.06)
    assert work.report("small", "fingerprint", 1.0) == pytest.approx(1.0)
    assert work.done() == 2
    assert work.report("all layers", "index", 0.0) == pytest.approx(1.0)  # never backwards


def test_job_progress_without_weights_averages_its_items():
    work = JobProgress()
    assert work.report("a.tar.gz", "decompress", 0.5) == pytest.approx(0.4)
    assert work.report("b.tar.gz", "decompress", 1.0) == pytest.approx((0.4 + 0.8) / 2)


def test_the_status_bar_names_the_phase_and_the_overall_share(qtbot, window, layer_files):
    progress = window.views.progress
    progress.begin("Analysing", {"base.tar": 3000, "app.tar": 1000})
    progress.report("base.tar", "hash", 0.5)
    qtbot.waitUntil(lambda: progress.bar.value() == round(1000 * 0.75 * 0.3), timeout=2000)
    assert progress.label.text().startswith("Analysing 22%, 0 of 2 done: hashing base.tar")
    progress.report("base.tar", "fingerprint", 0.0)
    progress.refresh()
    assert progress.bar.value() == round(1000 * 0.75 * 0.6)


def test_the_drop_overlay_text_stays_clear_of_the_welcome_buttons(qtbot, window, layer_files):
    drag_enter(window, layer_files)
    overlay = window.views.drop_overlay
    overlay.repaint()
    welcome = window.views.welcome
    for button in (welcome.demo_button, welcome.open_button, welcome.folder_button):
        corner = button.mapTo(overlay.parentWidget(), button.rect().topLeft())
        area = button.rect().translated(corner)
        assert not overlay.text_rect.intersects(area), button.text()


def test_remove_all_can_be_undone(qtbot, window, layer_files):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    before = [layer.name for layer in window.jobs.analysis.layers]
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    assert window.jobs.analysis is None
    assert window.views.messages.action_button.isVisible()
    assert window.menu_actions["undo"].isEnabled()
    window.views.messages.action_button.click()
    wait_idle(qtbot, window)
    assert [layer.name for layer in window.jobs.analysis.layers] == before
    assert not window.menu_actions["undo"].isEnabled()


def test_quitting_does_not_wait_for_the_work(qtbot, window):
    release = threading.Event()

    def stubborn(state):  # work that ignores cancellation for a while
        release.wait(10)
        return Exported(Path("report.json"))

    window.jobs.runner.submit("export", stubborn)
    qtbot.waitUntil(lambda: window.jobs.runner.running is not None, timeout=5000)
    window.close()
    # The window closed and removed its cache while the work was still running.
    assert window.jobs.runner._thread.is_alive()
    assert window.jobs.workspace.cache.closed
    release.set()
    window.jobs.runner._thread.join(5)


def test_the_exported_map_is_twice_the_screen_with_a_caption(qtbot, window, layer_files, tmp_path):
    from PySide6.QtGui import QImage

    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    view = window.views.map_view
    area = view._content_area()
    window.export_map_to(tmp_path / "map.png")
    window.export_map_to(tmp_path / "map.svg")
    image = QImage(str(tmp_path / "map.png"))
    assert image.width() == 2 * area.width()
    assert image.height() > 2 * area.height()  # the caption below the map
    svg = (tmp_path / "map.svg").read_text()
    assert "FastCDC 2020 min 16 KiB / avg 64 KiB / max 256 KiB, nc 1" in svg
    assert "3 layers" in svg and "darker for more layers" in svg


def test_the_sweep_tab_says_what_it_would_show_until_it_runs(qtbot, window, layer_files):
    from cdcviewer.gui.panels.sweep import PLACEHOLDER_PAGE, PLOTS_PAGE

    panel = window.views.sweep_panel
    assert panel.pages.currentIndex() == PLACEHOLDER_PAGE
    assert "No sweep yet" in panel.placeholder.text()
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    window.menu_actions["sweep"].trigger()
    wait_idle(qtbot, window)
    assert panel.pages.currentIndex() == PLOTS_PAGE
    assert not window.views.docks["sweep"].visibleRegion().isEmpty()  # brought to the front


def test_chunk_details_are_shown_once(qtbot, window, layer_files):
    from PySide6.QtCore import QPointF

    from cdcviewer.gui.map.text import HINT

    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    view = window.views.map_view
    view.refresh()
    with qtbot.waitSignal(view.chunkHovered):
        view._set_hover(0, 0)
    assert "Hovered chunk" in window.views.details.toPlainText()  # the details panel says it
    assert view.info_text() == HINT  # the map's info bar keeps the hint
    point = view._view.mapViewToScene(QPointF(10.0, 0.5))
    assert view._tooltip_at(point) == ""  # and no tooltip repeats it
