import os
import shutil

import pytest
import rehearsal
from localhub import serve

# Tests never touch the network: any dataset download is refused unless a test points it at a local file.
os.environ.setdefault("LAFR_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own dataset cache and figures folder."""
    monkeypatch.setenv("LAFR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LAFR_FIGURES", str(tmp_path / "figures"))


@pytest.fixture
def server():
    """A local imitation of the Hub on 127.0.0.1 (``tests/localhub.py``), stopped after the test."""
    with serve() as srv:
        yield srv


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The paper-profile rehearsals' large stand-ins (``tests/rehearsal.py``), made once per session."""
    root = rehearsal.build_world(tmp_path_factory.mktemp("hub-standins"))
    yield root
    shutil.rmtree(root, ignore_errors=True)  # about 8 GB: not left for pytest's kept temporary folders
