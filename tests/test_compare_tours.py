"""tools/compare_tours.py: what two runs of the notebooks printed, compared cell by cell."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("compare_tours", ROOT / "tools" / "compare_tours.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


def _executed(folder: Path, *printed: str) -> Path:
    cells = [
        {
            "cell_type": "code",
            "source": "",
            "metadata": {},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": t}],
        }
        for t in printed
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01_x.ipynb").write_text(json.dumps({"cells": cells}))
    return folder


def test_same_numbers_other_timings_pass_and_a_changed_number_is_named(tmp_path, capsys):
    before = _executed(tmp_path / "a", "PSNR 27.07 dB\n", "took 12.3 s\n")
    same = _executed(tmp_path / "b", "PSNR 27.07 dB\n", "took 48.0 s\n")  # only a timing differs
    changed = _executed(tmp_path / "c", "PSNR 27.08 dB\n", "took 12.3 s\n")
    assert tool.main([str(before), str(same)]) == 0
    assert tool.main([str(before), str(changed)]) == 1
    assert "'PSNR 27.07 dB' -> 'PSNR 27.08 dB'" in capsys.readouterr().out
    assert tool.differences(before / "01_x.ipynb", _executed(tmp_path / "d", "PSNR 27.07 dB\n") / "01_x.ipynb")
