"""pytest runs every notebook under notebooks/ with nbval (pyproject.toml). The exercises' student
versions are left out: they fail by design, at every exercise, until a student answers it
(tests/test_exercises.py checks exactly that)."""

collect_ignore_glob = ["exercises/student/*"]
