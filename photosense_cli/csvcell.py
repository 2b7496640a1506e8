"""CSV cells that a spreadsheet cannot take for a formula.

Names and OCR text are untrusted: a sign in a photo can read =HYPERLINK(...), and
Excel, LibreOffice and Google Sheets run a cell that starts with = + - @ (or a tab
or carriage return before one). As OWASP's "CSV Injection" page recommends, such
a cell is prefixed with a single quote, which the spreadsheet shows as text. Only
text cells are touched (a count of -1 stays a number); JSON output is never changed.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
