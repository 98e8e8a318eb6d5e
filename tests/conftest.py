import os

import pytest

# Tests never touch the network: any dataset download is refused unless a test points it at a local file.
os.environ.setdefault("LAFR_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own dataset cache and figures folder."""
    monkeypatch.setenv("LAFR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LAFR_FIGURES", str(tmp_path / "figures"))
