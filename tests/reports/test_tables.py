"""A report table shows its first rows when told to, and its CSV keeps every row."""

from reports.tables import Column, Table, table_csv


def test_a_long_table_shows_its_first_rows_and_downloads_them_all():
    table = Table(
        title="Owed",
        columns=[Column("party", "Party"), Column("total", "Total", "int")],
        rows=[{"party": f"P{n}", "total": n} for n in range(250)],
        shown=100,
    )

    assert len(table.display_rows()) == 100
    assert table.cut == (100, 250)
    lines = b"".join(table_csv(table).streaming_content).decode().splitlines()
    assert len(lines) == 251  # the header and every row


def test_a_short_table_is_not_cut():
    table = Table(title="t", columns=[Column("a", "A")], rows=[{"a": "x"}], shown=100)

    assert table.cut is None
    assert len(table.display_rows()) == 1
