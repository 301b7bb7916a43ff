"""What every Excel export shares: text that a spreadsheet would run as a formula is made inert."""

# Excel, LibreOffice and WPS run a cell that starts with one of these as a formula (CSV/DDE
# injection); a leading single quote keeps it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CELL_MAX = 32767  # characters an Excel cell holds


def neutralised(text: str | None) -> str:
    """`text` as a cell may safely hold it: a leading ' before a formula trigger, and cut to fit."""
    text = text or ""
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    return text[:CELL_MAX]
