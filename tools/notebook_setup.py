"""Write every notebook's Colab badge and setup cell, and the README's Colab badges, from
``lafr.REPOSITORY`` (and ``lafr.BRANCH``), so that the repository's address lives in one place.

    python tools/notebook_setup.py              # rewrite the notebooks, their text files and README.md in place
                                                # (the chapters and the exercises, student versions included)
    python tools/notebook_setup.py --root DIR   # the same in DIR/notebooks and DIR/README.md (a copy)

In each notebook the badge is in the first cell and the setup cell is the one whose first line is
``SETUP_FIRST_LINE``; cell ids and all other cells stay as they are.  Both sides of each pair are
rewritten: ``NN_name.ipynb`` and its jupytext text file ``NN_name.py`` (README, "Contributing").
The setup cell runs before lafr is installed, so it holds the address literally; tests/test_colab.py
checks that it equals ``setup_source`` and that every badge matches ``lafr.colab_url``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import lafr  # noqa: E402 - the checkout's lafr, installed or not

# Extras of lafr that a notebook needs on Colab, by file name, e.g. {"06_x.ipynb": ("faces",)}.
# A notebook not listed gets the core package only.
EXTRAS: dict[str, tuple[str, ...]] = {}

SETUP_MARK = "# Setup: installs lafr only on Colab"  # how the setup cell is found: its first line starts so
SETUP_FIRST_LINE = SETUP_MARK + " (locally, follow the README)."
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]*?/notebooks/((?:[\w.-]+/)*[\w.-]+\.ipynb)")

_SETUP = """{first_line}
import subprocess
import sys

# Paper profile on Colab: True keeps runs/ and the downloads on your Google Drive, so that a new session
# resumes training where the last one stopped (README, "Colab").
keep_on_drive = False

if "google.colab" in sys.modules:
    requirement = "{requirement}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", requirement], capture_output=True, text=True)
    if pip.returncode != 0:
        raise RuntimeError(
            f"pip could not install {{requirement!r}}:\\n{{pip.stderr.strip()[-1500:]}}\\n\\n"
            "If that address is wrong or the repository is private, put the right address in `requirement` "
            "above and run this cell again. Or upload a copy of the repository to Colab (Files panel, or "
            "`git clone` it) and run `pip install -e <its folder>` in a cell."
        )
    if keep_on_drive:
        import importlib

        importlib.invalidate_caches()  # see the package pip has just installed
        import lafr

        print("kept on Google Drive:", lafr.keep_on_drive())"""


def setup_source(notebook: str) -> str:
    """The setup cell of ``notebooks/<notebook>``: installs lafr, with its EXTRAS, only on Colab."""
    return _SETUP.format(first_line=SETUP_FIRST_LINE, requirement=lafr.pip_requirement(EXTRAS.get(notebook, ())))


def fix_links(text: str, notebook: str | None = None) -> str:
    """Every Colab link in ``text`` pointed at the repository; at ``notebook`` when given, else at the
    notebook each link names."""
    return COLAB_LINK.sub(lambda m: lafr.colab_url(notebook or m.group(1)), text)


def _rewrite(nb, path: Path) -> bool:
    """Put the badge and setup cell into ``nb`` (read from ``path``); True when they changed."""
    setup = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(SETUP_MARK)]
    if not COLAB_LINK.search(nb.cells[0].source) or len(setup) != 1:
        raise SystemExit(f"{path}: needs a Colab badge in its first cell and one setup cell starting {SETUP_MARK!r}")
    notebook = notebook_name(path)
    badge, source = fix_links(nb.cells[0].source, notebook), setup_source(notebook)
    if (badge, source) == (nb.cells[0].source, setup[0].source):
        return False
    nb.cells[0].source, setup[0].source = badge, source
    return True


def notebook_name(path: Path) -> str:
    """A notebook's path under notebooks/, as badges name it: ``01_x.ipynb``, ``exercises/01_exercises.ipynb``."""
    parts = path.with_suffix(".ipynb").parts
    last = len(parts) - 1 - parts[::-1].index("notebooks")  # the innermost folder called notebooks
    return "/".join(parts[last + 1 :])


def notebooks(root: Path) -> list[Path]:
    """Every notebook with a badge: the chapters, the exercises' instructor and student versions."""
    folder = root / "notebooks"
    return (
        sorted(folder.glob("*.ipynb"))
        + sorted(folder.glob("exercises/*.ipynb"))
        + sorted(folder.glob("exercises/student/*.ipynb"))
    )


def update_notebook(path: Path) -> bool:
    """Rewrite the badge and setup cell of one notebook and of its paired text file (when it has
    one); True when a file changed."""
    nb = nbformat.read(path, as_version=4)
    changed = _rewrite(nb, path)
    if changed:
        nbformat.write(nb, path)
    text = path.with_suffix(".py")
    if text.is_file():
        paired = jupytext.read(text)  # keeps the file's own header (its metadata filter included)
        if _rewrite(paired, text):
            jupytext.write(paired, text, fmt="py:percent")
            changed = True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", default=str(ROOT), help="folder holding notebooks/ and README.md (default: this checkout)"
    )
    root = Path(parser.parse_args(argv).root)
    for path in notebooks(root):
        print(f"{path}: {'updated' if update_notebook(path) else 'up to date'}")
    readme = root / "README.md"
    text = readme.read_text()
    if fix_links(text) != text:
        readme.write_text(fix_links(text))
    print(f"{readme}: {'updated' if fix_links(text) != text else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
