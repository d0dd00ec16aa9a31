import os

# Without a display Qt aborts the process instead of raising; tests never need one.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
