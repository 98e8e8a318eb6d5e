"""The paper's tables as data (lafr.paper): every row is the paper's own, as printed."""

from pathlib import Path

import pytest

from lafr import paper

PAPER_TEXT = Path(__file__).resolve().parents[2] / "shared" / "paper" / "lafr-paper.txt"


@pytest.mark.skipif(not PAPER_TEXT.is_file(), reason="the paper's text is not in this checkout")
@pytest.mark.parametrize("name", sorted(paper.TABLES))
def test_every_row_is_a_line_of_the_paper(name):
    lines = [" ".join(line.replace("<u>", "").replace("</u>", "").split()) for line in PAPER_TEXT.read_text().splitlines()]
    for row in paper.TABLES[name]:
        marks = {True: "\u2713", False: "\u00d7"}
        cells = [marks.get(v, v) if isinstance(v, bool) else (f"{v:.{paper.DECIMALS[k]}f}" if isinstance(v, float) else str(v))
                 for k, v in row.items()]  # fmt: skip
        assert " ".join(cells) in lines, (name, row)


def test_format_table_prints_the_papers_decimals_and_marks():
    text = paper.format_table([{"#": 4, "L_id": False, "PSNR": 25.2, "Deg": 49.2}, {"#": 6, "L_id": True, "PSNR": 26.26, "ours": 0.123456}])
    assert text.splitlines()[0] == "| # | L_id | PSNR | Deg | ours |"
    assert "| 4 | \u00d7 | 25.20 | 49.20 |  |" in text and "| 6 | \u2713 | 26.26 |  | 0.1235 |" in text
