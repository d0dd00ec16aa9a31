"""The compiled hot loops, pure functions over bytes with no I/O: the gear hash, the
FastCDC 2020 and fixed-size cuts, and chunk fingerprints (xxh3-128, sha256).

May import ``base`` only.
"""
