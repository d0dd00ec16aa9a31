"""The self-contained HTML report, one module per section; SVG charts and PNG lane
maps are inlined so the page needs no network.
"""
