import os

# Without a display Qt aborts the process instead of raising; tests never need one.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory):
    """A generated stdlib-like folder the demo is made from (never the machine's own)."""
    from tests.builders import demo_source_tree

    return demo_source_tree(tmp_path_factory.mktemp("demo-source"))
