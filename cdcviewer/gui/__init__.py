"""Qt user interface of cdcviewer: the window, the byte-range map and the panels."""
