"""The report document (JSON schema ``cdcviewer.report/1``) and what is drawn from
it: text tables, CSV, CI gates, and the HTML page (``html/``); ``export`` writes them.

May import ``insight`` and everything below it.
"""
