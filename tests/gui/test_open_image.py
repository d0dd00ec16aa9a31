"""File > Open Image…: a reference typed (or picked from history) loads as lanes named image:tag."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from cdcviewer.gui.dialogs import ImageDialog, image_reference_problem
from tests.gui.conftest import wait_idle
from tests.sources.registry.conftest import (  # noqa: F401 - fixtures used by name
    isolated,
    layouts,
    needs_registry,
    plain_registry,
)


def test_the_dialog_checks_the_reference_and_offers_history_and_platforms(qtbot):
    dialog = ImageDialog(None, ["docker://localhost:5000/app:2", "alpine:3.20"])
    qtbot.addWidget(dialog)
    assert dialog.reference.currentText() == "docker://localhost:5000/app:2"
    assert dialog.reference.count() == 2
    platforms = [dialog.platform.itemData(i) for i in range(dialog.platform.count())]
    assert platforms[0] is None and platforms[-1] == "all" and "linux/arm64" in platforms
    dialog.reference.setCurrentText("docker://Bad/Name")
    dialog.buttons = dialog.findChild(QDialogButtonBox)
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    assert dialog.result() == 0 and "invalid repository name" in dialog.problem.text()
    assert image_reference_problem("no-such-file") is not None
    assert image_reference_problem("app:1") is None
    dialog.reference.setCurrentText("alpine:3.20")
    dialog.platform.setCurrentIndex(platforms.index("linux/arm64"))
    assert dialog.chosen() == ("alpine:3.20", "linux/arm64")


@needs_registry
def test_opening_an_image_by_reference_shows_its_lanes(qtbot, window, plain_registry):  # noqa: F811
    reference = f"docker://{plain_registry.host}/multi:1"
    window.open_image(reference, "linux/arm64")
    wait_idle(qtbot, window)
    analysis = window.jobs.analysis
    assert analysis is not None
    names = [lane.name for lane in window.views.map_view.model.lanes]
    assert names and all(n.startswith(f"{plain_registry.host}/multi:1 #") for n in names)
    assert {layer.extra["platform"] for layer in analysis.layers} == {"linux/arm64/v8"}
    assert window.settings.image_history()[0] == reference
    assert window.settings.recent_sessions()[0].inputs == [reference]
