"""What a person reads in a response: text as text, a .docx's paragraphs and tables, an
.xlsx's cells. Tests that look for names in every answer read documents this way too."""

from __future__ import annotations

import io

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def readable(response) -> str:
    mimetype = response.mimetype
    if mimetype == DOCX:
        import docx

        document = docx.Document(io.BytesIO(response.get_data()))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            parts += [cell.text for row in table.rows for cell in row.cells]
        return "\n".join(parts)
    if mimetype == XLSX:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return response.get_data(as_text=True)
