"""The window's panels, one small widget family per module: figures and chunk
details, the layer table, plots, files, insight views, chunker controls and the welcome
page.
"""
