"""Views that explain an analysis: which files hold the unique and shared bytes
(attribution), whole-file duplicates, what-ifs (deterministic tars, file contents),
what each image adds (versions) and the parameter sweep.

May import ``analysis`` and everything below it.
"""
