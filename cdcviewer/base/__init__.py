"""Facts every part of cdcviewer shares: errors, chunker parameters and sizes, the
progress/cancel state of long tasks, and writing a file atomically.

Imports nothing of cdcviewer's own: every other package may import it.
"""
