"""A tar stream's member table: where each member's data lies in the stream
(``members``), with a compiled scan for runs of plain headers (``scan``).
"""
