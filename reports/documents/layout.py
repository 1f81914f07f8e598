"""The page and type of Chinese official documents (GB/T 9704-2012 党政机关公文格式), for
python-docx.

A4; 天头 (top margin) 37 mm, 订口 (left) 28 mm, and a type area of 156 × 225 mm, which
leaves 26 mm right and 35 mm bottom; 22 lines of 28 characters in 3号 (16 pt). The title is
2号小标宋 (22 pt, 方正小标宋简体), the body 3号仿宋 (仿宋_GB2312), first-level headings 黑体,
second-level 楷体_GB2312; page numbers "— 1 —" in 4号 宋体 at the foot.

Chinese fonts are named through `w:rFonts/@w:eastAsia`: Word and LibreOffice pick the font
of CJK text from that attribute, not from the Latin name python-docx sets. A reader without
the named font sees the office's fallback (LibreOffice maps 仿宋_GB2312 to any FangSong it
has), so the names are those the offices' machines carry.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"

TITLE_SIZE = Pt(22)  # 2号
BODY_SIZE = Pt(16)  # 3号
TABLE_SIZE = Pt(12)  # 小4号: tables and captions, as offices set them
PAGE_NUMBER_SIZE = Pt(14)  # 4号
SMALL_STYLE = "Small Text"  # tables and captions: 小4号仿宋, single line spacing
# 225 mm over 22 lines: the fixed line pitch of the body.
LINE_PITCH = Pt(225 / 22 / 25.4 * 72)

PHOTO_WIDTH = Mm(120)
PAGE = {"width": Mm(210), "height": Mm(297)}
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}


# What XML 1.0 cannot carry (lxml refuses it): C0 controls but tab and newlines, lone
# surrogates, U+FFFE/U+FFFF. Stored text (a unit's name, an inspector's note) may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def cn_date(day) -> str:
    """ "2026年12月7日": the one way documents write a date (no zero padding)."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(moment) -> str:
    """ "2026年12月7日 09:05": a date as `cn_date`, then the time of day."""
    return f"{cn_date(moment)} {moment:%H:%M}"


def set_fonts(run_or_style, east_asia: str, size=None, *, bold: bool | None = None) -> None:
    """Name the Latin and the East Asian font of a run or a style (w:rFonts)."""
    font = run_or_style.font
    font.name = LATIN_FONT
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asia)


def new_document() -> DocumentType:
    """An empty A4 document with the page, margins, body style and page numbers set."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE["width"], PAGE["height"]
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.footer_distance = Mm(28) - Mm(7)  # the number sits 7 mm below the type area
    normal = document.styles["Normal"]
    set_fonts(normal, BODY_FONT, BODY_SIZE)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)
    small = document.styles.add_style(SMALL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    small.base_style = normal
    set_fonts(small, BODY_FONT, TABLE_SIZE)
    small_fmt = small.paragraph_format
    small_fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    small_fmt.first_line_indent = Pt(0)
    small_fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_numbers(section)
    return document


def _page_numbers(section) -> None:
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_fonts(paragraph.add_run("— "), PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    run = paragraph.add_run()
    set_fonts(run, PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), ("end", None)):
        if kind is None:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
    set_fonts(paragraph.add_run(" —"), PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)


def title(document: DocumentType, text: str) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.line_spacing = Pt(35)
    paragraph.paragraph_format.space_after = LINE_PITCH
    set_fonts(paragraph.add_run(xml_safe(text)), TITLE_FONT, TITLE_SIZE)
    return paragraph


def body(document: DocumentType, text: str = "", *, indent: bool = True, align=None) -> Paragraph:
    """A body paragraph in 3号仿宋, indented two characters unless told otherwise."""
    paragraph = document.add_paragraph()
    if indent:
        paragraph.paragraph_format.first_line_indent = BODY_SIZE * 2
    if align is not None:
        paragraph.alignment = align
    if text:
        add(paragraph, text)
    return paragraph


def add(paragraph: Paragraph, text: str, font: str = BODY_FONT, size=None, **kw) -> Run:
    """A run of text; its fonts are named only where they differ from the paragraph's
    style (python-docx's element tree is slow: a table of named runs took seconds)."""
    run = paragraph.add_run(xml_safe(text))
    if font != BODY_FONT or size is not None or kw:
        set_fonts(run, font, size, **kw)
    return run


def heading(document: DocumentType, text: str, level: int = 1) -> Paragraph:
    """一、 in 黑体; （一） in 楷体_GB2312: both at body size, indented like the body."""
    paragraph = body(document)
    add(paragraph, text, HEADING_FONT if level == 1 else SUBHEADING_FONT)
    return paragraph


def picture(document: DocumentType, jpeg: bytes, caption: str, width=None) -> None:
    """A photo centred on its own line (auto line height: a fixed pitch would clip it),
    and its caption below in 小4号."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    paragraph.paragraph_format.keep_with_next = True
    paragraph.add_run().add_picture(io.BytesIO(jpeg), width=width or PHOTO_WIDTH)
    note(document, caption)


def note(document: DocumentType, text: str) -> Paragraph:
    """A line in 小4号, centred: captions and remarks."""
    paragraph = document.add_paragraph(style=SMALL_STYLE)
    paragraph.paragraph_format.space_after = Pt(6)
    add(paragraph, text)
    return paragraph


def table(
    document: DocumentType,
    header: Iterable[str],
    rows: Iterable[Iterable],
    widths_mm: Sequence[float] | None = None,
) -> Table:
    """A grid table in 小4号仿宋 with a bold header row that repeats on every page, no row
    split across two pages (`w:cantSplit`: a unit's row reads whole on one page);
    `widths_mm`: each column's width (the type area is 156 mm wide), else equal columns.

    Made at its full size and filled through the XML elements: python-docx's `add_row`,
    `row.cells` and `paragraph.style = name` each search the document, which took seconds
    for a ranking of a few hundred units."""
    header = list(header)
    body = [["" if v is None else str(v) for v in values] for values in rows]
    grid = document.add_table(rows=1 + len(body), cols=len(header))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    style_id = document.styles[SMALL_STYLE].style_id
    for number, (tr, values) in enumerate(zip(grid._tbl.tr_lst, [header, *body], strict=True)):
        for tc, text in zip(tr.tc_lst, values, strict=True):
            p = tc.p_lst[0]
            p.style = style_id
            run = Run(p.add_r(), grid)
            run.text = xml_safe(text)
            if number == 0:
                run.bold = True
    if widths_mm is not None:
        grid.autofit = False
        widths = [Mm(w) for w in widths_mm]
        for col, width in zip(grid._tbl.tblGrid.gridCol_lst, widths, strict=True):
            col.w = width
        for tr in grid._tbl.tr_lst:
            for tc, width in zip(tr.tc_lst, widths, strict=True):
                tc.width = width
    for tr in grid._tbl.tr_lst:
        whole = OxmlElement("w:cantSplit")
        whole.set(qn("w:val"), "true")
        tr.get_or_add_trPr().append(whole)
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    grid._tbl.tr_lst[0].get_or_add_trPr().append(repeat)
    return grid


class Built(NamedTuple):
    """A document as bytes, and how many rows of its subject it prints (units ranked in a
    circular, findings in a report): what its download's audit event records."""

    content: bytes
    rows: int


def to_bytes(document: DocumentType) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
