"""Terminal tables that fit the console's width and never cut a number.

`Table` takes the subset of `rich.table.Table`'s interface the commands use (title, caption, columns,
rows) but lays itself out when it is printed, for the width it is given:

1. every column at its natural width, when that fits;
2. else the headers of number columns wrap at their spaces ("tiles rxcxg" on two lines) and then name
   columns wrap (words) or fold (layer names) down to their minimum width;
3. else the columns are split over several tables, each repeating the key columns (the first
   `key_columns`, e.g. the layer name): "per layer (1 of 2)", "per layer (2 of 2)";
4. else (a console too narrow for the key and one column) a stacked list: one block per row, one
   `header: value` line per column.

A number column (right-justified by default) never wraps, folds or truncates: its width is at least
its widest cell.  rich is imported only when a table is printed.
"""
from __future__ import annotations

import textwrap

NEVER, WORDS, FOLD = "never", "words", "fold"  # how a column's cells may break over lines
SHORT_NAME = 16  # text columns up to this wide wrap last


class _Col:
    __slots__ = ("header", "justify", "wrap", "min_width")

    def __init__(self, header, justify, wrap, min_width):
        self.header, self.justify, self.wrap, self.min_width = header, justify, wrap, min_width


def _cell_len(s: str) -> int:
    from rich.cells import cell_len
    return max((cell_len(line) for line in s.split("\n")), default=0)


def _longest_word(s: str) -> int:
    return max((_cell_len(w) for w in s.split()), default=0)


class Table:
    """A table of text cells that fits the console (see the module docstring).  Cells are plain text,
    never rich markup (a layer may be called `conv[1]`); `style` styles a whole row."""

    def __init__(self, title: str | None = None, *, caption: str | None = None, show_header: bool = True,
                 key_columns: int = 1, box=None, show_edge: bool = True, **_ignored):
        """`box`: a rich.box.Box or its name ('HEAVY_HEAD'); default SIMPLE_HEAVY."""
        self.title = title
        self.show_edge = show_edge
        self.caption = caption
        self.show_header = show_header
        self.key_columns = key_columns
        self.box = box
        self.columns: list[_Col] = []
        self.rows: list[tuple[list[str], str | None]] = []

    def add_column(self, header: str = "", justify: str = "left", *, wrap: str | None = None,
                   min_width: int | None = None, **_ignored) -> None:
        """`wrap`: 'never' (numbers; the default for right-justified columns), 'words' (text that wraps
        at its spaces, never inside a word; the default for left-justified columns) or 'fold' (names,
        which may break anywhere once narrower than the column; `min_width` is then their narrowest)."""
        if wrap is None:
            wrap = NEVER if justify == "right" else WORDS
        self.columns.append(_Col(str(header), justify, wrap, min_width))
        self.__dict__.pop("_col_widths", None)

    def add_row(self, *cells, style: str | None = None, **_ignored) -> None:
        self.__dict__.pop("_col_widths", None)
        cells = ["" if c is None else str(c) for c in cells]
        cells += [""] * (len(self.columns) - len(cells))
        self.rows.append((cells, style))

    # ---- layout -------------------------------------------------------------------------------------
    def _widths(self, idx: list[int]) -> tuple[list[int], list[int]]:
        """Natural and minimum content width of the columns `idx`."""
        cache = self.__dict__.setdefault("_col_widths", {})
        for i in idx:
            if i not in cache:
                cache[i] = self._col_width(i)
        return [cache[i][0] for i in idx], [cache[i][1] for i in idx]

    def _col_width(self, i: int) -> tuple[int, int]:
        """Natural and minimum content width of column `i` (cached until a row or column is added)."""
        c = self.columns[i]
        cells = [r[0][i] for r in self.rows]
        head = c.header if self.show_header else ""
        widest = max((_cell_len(s) for s in cells), default=0)
        words = max((_longest_word(s) for s in cells), default=0)
        head_min = _longest_word(head) if c.wrap != FOLD else min(_cell_len(head), c.min_width or 10)
        natural = max(widest, _cell_len(head), 1)
        if c.wrap == NEVER:
            least = max(widest, head_min, 1)
        elif c.wrap == WORDS:
            least = max(words, head_min, 1)
        else:
            least = min(natural, max(c.min_width or 10, head_min, 1))
        return natural, least

    def _overhead(self, console, n: int) -> int:
        """Columns of a rendered table that are not cell content: padding, separators, edges."""
        cache = self.__dict__.setdefault("_overheads", {})
        if n not in cache:
            from rich.measure import Measurement
            probe = self._rich_table(None, [0] * n, [1] * n, probe=True)
            cache[n] = Measurement.get(console, console.options, probe).maximum - n
        return cache[n]

    def _fit(self, console, idx: list[int], width: int, names_whole: bool = False) -> list[int] | None:
        """Content widths of the columns `idx` within `width`, or None when they cannot fit
        (`names_whole`: nor when a text column would have to wrap)."""
        nat, mn = self._widths(idx)
        if names_whole:
            mn = [n if self.columns[i].wrap != NEVER else m for i, n, m in zip(idx, nat, mn)]
        room = width - self._overhead(console, len(idx))
        if sum(mn) > room:
            return None
        w = list(nat)
        # 1. number columns whose header is wider than their cells: wrap the header, largest gain first
        for k in sorted(range(len(idx)), key=lambda k: mn[k] - nat[k]):
            if sum(w) <= room:
                break
            if self.columns[idx[k]].wrap == NEVER:
                w[k] = mn[k]
        # 2. text columns: take one column from the widest until it fits; short names (up to
        #    SHORT_NAME) wrap only once the long ones are down to that width
        for floor in ([min(n, max(m, SHORT_NAME)) for n, m in zip(nat, mn)], mn):
            while sum(w) > room:
                k = max((k for k in range(len(idx)) if w[k] > floor[k]),
                        key=lambda k: (nat[k] > SHORT_NAME, w[k]), default=None)
                if k is None:
                    break
                w[k] -= 1
        return w if sum(w) <= room else None

    def _chunks(self, console, width: int) -> list[tuple[list[int], list[int]]] | None:
        """(column indices, widths) of each table the columns are split over; None: not even the key
        columns and one other fit.  Of the splits with names kept whole and with names wrapped, the one
        with fewer tables (names whole on a tie)."""
        all_idx = list(range(len(self.columns)))
        w = self._fit(console, all_idx, width)
        if w is not None:
            return [(all_idx, w)]
        splits = [s for s in (self._split(console, width, True), self._split(console, width, False)) if s]
        return min(splits, key=len) if splits else None

    def _split(self, console, width: int, names_whole: bool):
        all_idx = list(range(len(self.columns)))
        keys = all_idx[:self.key_columns]
        chunks, cur = [], []
        for i in all_idx[self.key_columns:]:
            if (self._fit(console, keys + cur + [i], width, names_whole) is not None
                    or (not cur and self._fit(console, keys + [i], width) is not None)):
                cur.append(i)
                continue
            if not cur:
                return None
            chunks.append(cur)
            cur = [i]
            if self._fit(console, keys + cur, width) is None:
                return None
        if cur:
            chunks.append(cur)
        return [(keys + c, self._fit(console, keys + c, width)) for c in chunks]

    def _rich_table(self, title, idx, widths, probe=False, skip_blank=False):
        from rich import box as rbox
        from rich.table import Table as RichTable
        from rich.text import Text
        b = self.box or "SIMPLE_HEAVY"
        # the default box: collapsed padding, two spaces between columns, not three (a 9-column table
        # gains 9 columns); a box with rules keeps a space each side of them
        t = RichTable(title=None if title is None else Text(title), box=getattr(rbox, b) if isinstance(b, str) else b,
                      show_header=self.show_header and not probe, show_edge=self.show_edge,
                      collapse_padding=self.box is None, pad_edge=self.box is not None)
        for i, w in zip(idx, widths):
            c = self.columns[i] if not probe else _Col("", "left", NEVER, None)
            head = c.header
            if _cell_len(head) > w:
                head = "\n".join(textwrap.wrap(head, w, break_long_words=c.wrap == FOLD)) or head
            # (overflow 'ignore' would drop the justification; the widths hold every number anyway)
            t.add_column(Text(head), justify=c.justify, width=w, no_wrap=c.wrap == NEVER, overflow="fold")
        if probe:
            t.add_row(*(["x"] * len(idx)))
            return t
        for cells, style in self.rows:
            if skip_blank and not any(cells[i] for i in idx):
                continue  # (a row that only continues the cells of another table)
            t.add_row(*(Text(cells[i]) for i in idx), style=style)
        return t

    def __rich_console__(self, console, options):
        from rich.text import Text
        width = options.max_width
        chunks = self._chunks(console, width)
        if chunks is None:
            yield from self._stacked(width)
            return
        for n, (idx, widths) in enumerate(chunks, 1):
            title = self.title
            if len(chunks) > 1:
                title = f"{self.title or 'table'} ({n} of {len(chunks)})"
                table_width = sum(widths) + self._overhead(console, len(idx))
                if n > 1 and _cell_len(title) > table_width:  # a narrow continuation: a short title
                    title = f"({n} of {len(chunks)})"
            t = self._rich_table(title, idx, widths, skip_blank=len(chunks) > 1)
            if n == len(chunks) and self.caption:
                t.caption = Text(self.caption)
            yield t

    def _stacked(self, width):
        from rich.text import Text
        if self.title:
            yield Text(self.title, style="bold", overflow="fold")
        keys = range(self.key_columns)
        for cells, style in self.rows:
            yield Text("  ".join(cells[i] for i in keys if cells[i]) or "-", style="bold", overflow="fold")
            for i, c in enumerate(self.columns):
                if i >= self.key_columns and cells[i]:
                    yield Text(f"  {c.header}: {cells[i]}", overflow="fold")
        if self.caption:
            yield Text(self.caption, overflow="fold")

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement
        return Measurement(1, options.max_width)


def console_width(stream, environ=None) -> int | None:
    """The width tables are laid out for: $COLUMNS when set (a positive number), else the terminal's
    when `stream` is one (None: rich asks the terminal), else 80 -- a pipe or a file gets a fixed width,
    whatever terminal the other streams are attached to, so the same run writes the same bytes."""
    import os
    env = os.environ if environ is None else environ
    cols = env.get("COLUMNS", "")
    if cols.strip().isdigit() and 0 < int(cols) <= 10_000:
        return int(cols)
    try:
        if stream.isatty():
            return None
    except (AttributeError, ValueError):
        pass
    return 80
