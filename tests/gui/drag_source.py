"""A drag source in a process of its own: a small Qt window that drags the files given
on its command line (as ``text/uri-list``, the way a file manager does) when pressed.

    python -m tests.gui.drag_source FILE ...

Prints ``drag-source-ready`` once shown and ``drag-source-done <action>`` after a drag.
Used by the end-to-end test to drop real files into the window over real XDND.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel

TITLE = "cdcviewer drag source"


class DragSource(QLabel):
    def __init__(self, paths: list[str]) -> None:
        super().__init__(f"drag {len(paths)} files")
        self.paths = paths
        self.setWindowTitle(TITLE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.resize(240, 140)

    def mousePressEvent(self, event) -> None:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(p) for p in self.paths])
        drag = QDrag(self)
        drag.setMimeData(mime)
        action = drag.exec(Qt.DropAction.CopyAction)
        print(f"drag-source-done {int(action.value)}", flush=True)


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("dragsource")
    source = DragSource(sys.argv[1:])
    source.move(20, 20)
    source.show()
    print("drag-source-ready", flush=True)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
