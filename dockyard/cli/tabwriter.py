"""A Go text/tabwriter work-alike (left-aligned, space padding), as docker formats its tables.

Cells are tab-terminated; the text after a line's last tab is not part of any
column. A column's width is fixed per *block*: the run of consecutive lines
that have a cell in that column. Width = max(cell width + padding, minwidth).
"""
from __future__ import annotations

import unicodedata


def _width(text: str) -> int:
    """Display width in runes, as Go counts it (wide East Asian runes count once too)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


class TabWriter:
    """Buffer text, then `flush()` it with aligned columns (docker: minwidth 10, padding 3)."""

    def __init__(self, minwidth: int = 10, padding: int = 3, padchar: str = " ") -> None:
        self.minwidth = minwidth
        self.padding = padding
        self.padchar = padchar
        self._buf: list[str] = []

    def write(self, text: str) -> None:
        self._buf.append(text)

    def flush(self) -> str:
        """Return the aligned text and empty the buffer."""
        text = "".join(self._buf)
        self._buf = []
        trailing_newline = text.endswith("\n")
        lines = [line.split("\t") for line in text.split("\n")]
        if trailing_newline:
            lines.pop()
        out: list[str] = []
        self._format(lines, 0, len(lines), [], out)
        return "\n".join(out) + ("\n" if trailing_newline else "")

    def _format(self, lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            self._write_lines(lines, line0, this, widths, out)
            line0 = this
            width = self.minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, _width(lines[this][column]) + self.padding)
                this += 1
            self._format(lines, line0, this, widths + [width], out)
            line0 = this
        self._write_lines(lines, line0, line1, widths, out)

    def _write_lines(self, lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
        for cells in lines[line0:line1]:
            parts = []
            for j, cell in enumerate(cells):
                parts.append(cell)
                if j < len(widths) and j < len(cells) - 1:
                    parts.append(self.padchar * (widths[j] - _width(cell)))
            out.append("".join(parts))


def tabulate(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Align a whole tab-separated text at once."""
    writer = TabWriter(minwidth, padding)
    writer.write(text)
    return writer.flush()
