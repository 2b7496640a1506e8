"""A safe XML reader that remembers where each element sits in the bytes.

Sidecars are untrusted input (anyone who can drop a file in a photo folder wrote
it) and belong to other tools as much as to us. Two things follow:

- Parsing is safe: expat, with any DTD refused. XMP never has one, and without a
  DTD there is no entity to expand (billion laughs) and no external entity to
  fetch. The input is bounded by the caller (xmp.MAX_SIDECAR_BYTES).
- Writing is a splice: each element keeps its byte span, so xmp.py removes and
  inserts exactly its own elements and every other byte of the document (another
  tool's prefixes, quotes, attribute order, line breaks, comments) stays as it was.
  ElementTree re-serialised the whole document, with prefixes from a process-wide
  table, so one sidecar changed how every later one was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

MAX_DEPTH = 100  # XMP nests about 8 deep; deeper is hostile, and our walks recurse


class XmlError(ValueError):
    """The document cannot be read (not XML, a DTD, too deep)."""


@dataclass(eq=False)
class Node:
    tag: str  # "{uri}local", or "local" outside any namespace
    qname: bytes  # the name as written in the document, e.g. b"rdf:Bag"
    attrib: dict[str, str]  # "{uri}local" -> value
    ns: dict[str, str]  # prefix -> uri, in scope at this element (its own included)
    start: int  # offset of "<"
    head_end: int  # offset just past the start tag's ">"
    close_start: int = 0  # offset of "</" (== head_end for an empty element)
    end: int = 0  # offset just past the element
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    text: str = ""  # the element's own character data

    @property
    def empty(self) -> bool:
        return self.close_start == self.head_end and self.end == self.head_end

    def find(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def iter(self, tag: str | None = None) -> Iterator[Node]:
        """This element and every element below it, in document order."""
        stack = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            stack.extend(reversed(node.children))

    def get(self, tag: str) -> str | None:
        return self.attrib.get(tag)

    def prefix_for(self, uri: str) -> str | None:
        """A prefix bound to `uri` here (the first in sorted order: deterministic)."""
        found = sorted(p for p, u in self.ns.items() if u == uri and p)
        return found[0] if found else None


def _tag(name: str) -> str:
    uri, sep, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if sep else name


def _tag_end(data: bytes, start: int) -> int:
    """The offset just past the '>' of the tag starting at `start` (quotes may hold '>')."""
    i, quote = start + 1, 0
    n = len(data)
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):  # " '
            quote = c
        elif c == 0x3E:  # >
            return i + 1
        i += 1
    raise XmlError("a tag is not closed")


def _refuse(*_args) -> int:
    raise XmlError("has a DTD or entity declaration (XMP has none; not read)")


def parse(data: bytes) -> Node:
    """The document's root element; XmlError if it is not well-formed or declares a DTD."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    stack: list[Node] = []
    root: list[Node] = []
    pending: dict[str, str] = {}

    def start_ns(prefix: str | None, uri: str) -> None:
        pending[prefix or ""] = uri

    def start(name: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise XmlError(f"nested more than {MAX_DEPTH} deep")
        at = parser.CurrentByteIndex
        head_end = _tag_end(data, at)
        qname = data[at + 1:head_end].split(None, 1)[0].rstrip(b"/>")
        parent = stack[-1] if stack else None
        ns = dict(parent.ns) if parent else {}
        ns.update(pending)
        pending.clear()
        node = Node(_tag(name), qname, {_tag(k): v for k, v in attrs.items()}, ns, at, head_end,
                    parent=parent)
        if parent is not None:
            parent.children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(name: str) -> None:
        node = stack.pop()
        if data[node.head_end - 2:node.head_end] == b"/>":
            node.close_start = node.end = node.head_end
        else:
            node.close_start = parser.CurrentByteIndex
            node.end = _tag_end(data, node.close_start)

    def text(chars: str) -> None:
        if stack:
            stack[-1].text += chars

    parser.StartNamespaceDeclHandler = start_ns
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise XmlError(f"not well-formed XML ({expat.ErrorString(e.code)}, line {e.lineno})") from None
    if not root:
        raise XmlError("no element")
    return root[0]


# -- writing fragments ------------------------------------------------------------

def _allowed(c: str) -> bool:
    o = ord(c)
    return o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


def escape(text: str, attribute: bool = False) -> str:
    """Text or an attribute value as XML; characters XML 1.0 cannot hold are dropped."""
    text = "".join(c for c in text if _allowed(c))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = (text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
                .replace("\t", "&#9;"))
    return text


@dataclass
class El:
    """An element to write: (uri, local) names, attributes in order, children or text."""

    uri: str
    local: str
    attrs: list[tuple[str, str, str]] = field(default_factory=list)  # (uri, local, value)
    children: list[El] = field(default_factory=list)
    text: str | None = None

    def uris(self) -> list[str]:
        out = [self.uri] + [a[0] for a in self.attrs]
        for c in self.children:
            out += c.uris()
        return list(dict.fromkeys(out))

    def render(self, prefixes: dict[str, str], declare: dict[str, str], indent: str,
               unit: str = " ") -> str:
        """Lines joined by newlines; the first line carries no indent (it goes where the
        caller puts it), the rest start with `indent`."""
        name = f"{prefixes[self.uri]}:{self.local}"
        head = name
        for prefix, uri in declare.items():
            head += f' xmlns:{prefix}="{escape(uri, True)}"'
        for uri, local, value in self.attrs:
            head += f' {prefixes[uri]}:{local}="{escape(value, True)}"'
        if self.children:
            inner = indent + unit
            body = "".join("\n" + inner + c.render(prefixes, {}, inner, unit)
                           for c in self.children)
            return f"<{head}>{body}\n{indent}</{name}>"
        if self.text is not None:
            return f"<{head}>{escape(self.text)}</{name}>"
        return f"<{head}/>"
