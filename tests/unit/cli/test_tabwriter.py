"""The tabwriter aligns like Go's text/tabwriter with docker's settings (minwidth 10, padding 3)."""
from dockyard.cli.tabwriter import tabulate


def test_docker_ps_header_with_no_rows():
    text = "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n"
    assert tabulate(text) == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"


def test_columns_take_the_widest_cell_plus_padding():
    text = "A\tB\tC\nlonger-cell\tx\ty\n"
    assert tabulate(text) == "A             B         C\nlonger-cell   x         y\n"


def test_last_cell_is_not_padded_and_empty_cells_are():
    out = tabulate("a\t\tz\nbb\t\tzz\n")
    assert out == "a                   z\nbb                  zz\n"


def test_blocks_end_at_lines_without_that_column():
    # a line with fewer cells ends the column block: widths are computed per block
    text = "aaaaaaaaaaaaaaa\tb\nno tabs here\nc\td\n"
    assert tabulate(text) == "aaaaaaaaaaaaaaa   b\nno tabs here\nc         d\n"


def test_custom_minwidth_and_padding_like_docker_version():
    out = tabulate(" Version:\t1\n API version:\t2\n", minwidth=20, padding=1)
    assert out == " Version:           1\n API version:       2\n"


def test_unicode_counts_runes():
    assert tabulate("é…\tx\nab\ty\n") == "é…        x\nab        y\n"


def test_no_trailing_newline_is_kept():
    assert tabulate("a\tb") == "a         b"
