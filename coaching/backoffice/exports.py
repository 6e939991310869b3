"""Spreadsheet exports that are safe to open: no cell a spreadsheet would run as a formula.

A guest can type anything into their name, phone or notes; `=HYPERLINK("http://evil.example",
"click")` in a CSV opened in Excel or LibreOffice becomes a live formula. As OWASP's "CSV
injection" advice says, every text cell that starts with = + - @ (or a tab or carriage return,
which some programs skip before looking) gets a leading apostrophe, so it is shown as text. Every
export the back office offers goes through `neutralise_cell`.
"""

from wagtail_modeladmin.views import IndexView

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """`value` as a spreadsheet shows it safely: text that could start a formula is prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class SafeExportIndexView(IndexView):
    """The modeladmin list whose CSV (and XLSX) download never carries a formula."""

    def preprocess_field_value(self, field, value, export_format):
        return neutralise_cell(super().preprocess_field_value(field, value, export_format))
