"""The paper's tables as data (lafr.paper): every row is the paper's own, as printed."""

from pathlib import Path

import pytest

from lafr import paper

PAPER_TEXT = Path(__file__).resolve().parents[2] / "shared" / "paper" / "lafr-paper.txt"
needs_paper = pytest.mark.skipif(not PAPER_TEXT.is_file(), reason="the paper's text is not in this checkout")


def paper_lines():
    """The paper's lines, whitespace normalised, underlines (second-best) stripped."""
    return [
        " ".join(line.replace("<u>", "").replace("</u>", "").split()) for line in PAPER_TEXT.read_text().splitlines()
    ]


def printed(key, v):
    if isinstance(v, bool):
        return "\u2713" if v else "\u00d7"
    return f"{v:.{paper.DECIMALS[key]}f}" if isinstance(v, float) else str(v)


def rows_as_printed(name):
    """Each row of a table as the paper's line: citation after the method, Table 2's benchmarks side by side."""
    if name == "Table 2":
        for rows in zip(*paper.TABLE_2.values()):
            assert len({r["Method"] for r in rows}) == 1, rows  # one method per line across benchmarks
            yield " ".join([rows[0]["Method"]] + [printed(k, v) for r in rows for k, v in r.items() if k != "Method"])
        return
    for row in paper.TABLES[name]:
        cells = [printed(k, v) for k, v in row.items()]
        cite = paper.CITATIONS.get(name, {}).get(row.get("Method"))
        yield " ".join(cells[:1] + ([cite] if cite else []) + cells[1:])


@needs_paper
@pytest.mark.parametrize("name", sorted(paper.CAPTIONS))
def test_every_row_is_a_line_of_the_paper(name):
    lines = paper_lines()
    rows = list(rows_as_printed(name))
    assert rows
    for row in rows:
        assert row in lines, (name, row)


@needs_paper
@pytest.mark.parametrize("name", sorted(paper.CAPTIONS))
def test_caption_is_the_papers_first_sentence(name):
    caption = f"{name}: {paper.CAPTIONS[name]['caption']}"
    assert any(line.startswith(caption) for line in paper_lines()), caption


@needs_paper
@pytest.mark.parametrize("name", ["Table 1", "Table 5", "Table 7", "Table 11"])
def test_directions_are_the_papers_arrows(name):
    """The header line after the caption: each arrowed column is ours, with the arrow's direction."""
    lines = [
        line.replace("\\uparrow", "\u2191").replace("\\downarrow", "\u2193")
        for line in PAPER_TEXT.read_text().splitlines()
    ]
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    header = next(line for line in lines[at + 1 :] if line.strip()).split("\t")
    arrowed = {c[:-1].strip(): c[-1] == "\u2191" for c in header if c.strip() and c[-1] in "\u2191\u2193"}
    assert len(arrowed) >= 4
    columns = set(paper.TABLES[name][0])
    for column, higher in arrowed.items():
        assert column in columns, (name, column)
        assert paper.HIGHER_IS_BETTER[column] is higher, (name, column)


def test_tables_are_the_captioned_tables():
    expected = {n for n in paper.CAPTIONS if n != "Table 2"} | {f"Table 2 ({b})" for b in paper.TABLE_2}
    assert set(paper.TABLES) == expected
    assert all(paper.TABLES[f"Table 2 ({b})"] is rows for b, rows in paper.TABLE_2.items())
    assert list(paper.TABLE_2) == ["Wider-Test", "LFW-Test", "WebPhoto-Test"]


def test_every_column_is_a_label_or_a_metric_with_decimals_and_direction():
    for name, rows in paper.TABLES.items():
        for key in dict.fromkeys(k for r in rows for k in r):
            values = [r[key] for r in rows if key in r]
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            if numeric:
                assert key in paper.DECIMALS, (name, key)
            if key in paper.LABELS:
                assert key not in paper.HIGHER_IS_BETTER, (name, key)
            else:
                assert numeric and key in paper.HIGHER_IS_BETTER, (name, key)


def test_format_table_prints_the_papers_decimals_and_marks():
    text = paper.format_table(
        [{"#": 4, "L_id": False, "PSNR": 25.2, "Deg": 49.2}, {"#": 6, "L_id": True, "PSNR": 26.26, "ours": 0.123456}]
    )
    assert text.splitlines()[0] == "| # | L_id | PSNR | Deg | ours |"
    assert "| 4 | \u00d7 | 25.20 | 49.20 |  |" in text and "| 6 | \u2713 | 26.26 |  | 0.1235 |" in text
    table_3 = paper.format_table(paper.TABLE_3)  # the paper's mix of integers and decimals, as printed
    assert (
        "| LAFR(Ours) | 0.121 | 7.5 | 411 | 0.6 | 5.5 |" in table_3
        and "| DiffBIR | 5.826 | 144.6 | 1822 | 15360 | 2 |" in table_3
    )
