"""Reading WeCom's XML: one ``<xml>`` element whose children each hold a text.

WeCom's envelopes and messages are flat (``<xml><MsgType><![CDATA[text]]>
</MsgType>...</xml>``), so a flat reader is all that is needed, and it is
small enough to be safe: the outer envelope arrives before anything is
authenticated, so a document type declaration (the way to entity expansion
attacks) is refused outright rather than parsed.
"""

from __future__ import annotations

from xml.parsers import expat

#: Bigger than any WeCom callback; a limit so nothing unbounded is parsed.
MAX_XML_BYTES = 512 * 1024


class NotFlatXml(ValueError):
    """The document is not the flat ``<xml>`` WeCom sends."""


def read(document: bytes, *, root: str = "xml") -> dict[str, str]:
    """The text of each child of the root element, by tag.

    Elements nested deeper are skipped (WeCom nests a few event details);
    a repeated child, a document type declaration, a wrong root or any XML
    error raises ``NotFlatXml``.
    """
    if len(document) > MAX_XML_BYTES:
        raise NotFlatXml(f"the document is larger than {MAX_XML_BYTES} bytes")
    fields: dict[str, str] = {}
    texts: list[str] = []
    path: list[str] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        if not path and tag != root:
            raise NotFlatXml(f"the root element is <{tag}>, not <{root}>")
        path.append(tag)
        if len(path) == 2:
            if tag in fields:
                raise NotFlatXml(f"<{tag}> appears twice")
            texts.clear()

    def end(tag: str) -> None:
        if len(path) == 2:
            fields[tag] = "".join(texts)
        path.pop()

    def characters(data: str) -> None:
        if len(path) == 2:
            texts.append(data)

    def refuse_doctype(*args: object) -> None:
        raise NotFlatXml("document type declarations are not accepted")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(document, True)
    except expat.ExpatError as exc:
        raise NotFlatXml(f"not well-formed XML: {exc}") from None
    return fields
