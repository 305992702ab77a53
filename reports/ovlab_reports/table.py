"""A renderer-neutral table: html.py and markdown.py both draw it."""

from dataclasses import dataclass, field


@dataclass
class Cell:
    text: str
    best: bool = False  # marked as the best in its row
    css: str = ""  # extra class for HTML colouring (pass, fail, skip, deviation, slower, ...)
    title: str = ""  # hover text in HTML


@dataclass
class Table:
    title: str
    columns: list
    rows: list = field(default_factory=list)  # lists of Cell
    note: str = ""
    collapsed: bool = False  # long reference tables fold away in HTML

    def add(self, *cells):
        self.rows.append([c if isinstance(c, Cell) else Cell(str(c)) for c in cells])
