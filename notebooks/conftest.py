"""pytest runs every notebook under notebooks/ with nbval (pyproject.toml), except the exercises:
tests/test_exercises.py runs each instructor version top to bottom (every check passing, hidden tests
included, and every named wrong answer failing its check) and each student version (failing at its
exercises only), so a third run here would only cost time."""

collect_ignore_glob = ["exercises/*"]
