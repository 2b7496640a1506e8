"""XMP: face regions and people in the metadata other photo tools read and write.

photosense writes sidecars (never the original) with three kinds of entries,
because different tools read different ones:

- MWG regions (mwg-rs:Regions): digiKam, Lightroom, darktable, exiftool, Immich.
- Microsoft Photo regions (MP:RegionInfo): Windows Photo Gallery and its heirs.
- Iptc4xmpExt:PersonInImage, and with keywords=True dc:subject,
  lr:hierarchicalSubject ("People|Name") and digiKam:TagsList ("People/Name").

Everything else in a sidecar (ratings, labels, develop settings, other tools'
regions and keywords) is kept byte for byte: the document is never re-serialised,
only photosense's own elements are cut out and new ones spliced in (xmltree.py).
photosense's regions carry a photosense:FaceId, and each value it added to a
shared list is recorded under photosense:People (PersonInImage), photosense:Subject
(dc:subject), photosense:Hierarchy (lr:hierarchicalSubject) and photosense:Tags
(digiKam:TagsList). A value already there (the user's own, from digiKam or
exiftool) is never recorded as ours, so a rename or a forget takes back exactly
what photosense added and nothing else. Round two's photosense:Keywords (one
list for the three keyword bags) is still read.

Sidecars are untrusted input: read only when they are regular files of at most
MAX_SIDECAR_BYTES, parsed with no DTD, names and regions bounded and checked.

Orientation (MWG 2.0, "Image Region Metadata"): region areas are relative to
the image as stored, before its EXIF orientation is applied, and
AppliedToDimensions are the stored pixel dimensions; a viewer that turns the
photo upright turns the regions with it. The catalogue keeps boxes relative to
the upright photo, so they are turned back on the way out (and on the way in).
MP regions follow the same rule here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from photosense_cli import xmltree
from photosense_cli.files import ReadRefused, read_limited
from photosense_cli.gps import position_in
from photosense_cli.records import Box, name_problem
from photosense_cli.xmltree import El, Node

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "photosense": "https://photosense.invalid/ns/1.0/",
}
_PREFIX = {uri: prefix for prefix, uri in NS.items()}  # the prefix we use when none is bound

# Lightroom's largest sidecars (a long develop history) are about 1 MB; XMP inside a JPEG is
# at most 64 KB plus extensions. 4 MiB is far above both, and a 190 MB "sidecar" is refused.
MAX_SIDECAR_BYTES = 4 * 1024 * 1024
# A crowd photo tagged by hand holds tens of faces; beyond this many a file is hostile.
MAX_REGIONS = 256
# What photosense calls an unnamed person. Round two wrote it into sidecars as a name
# (xmp write --include-unnamed); it is never read back as one.
PLACEHOLDER = re.compile(r"Unknown person \d+")
_PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.S)
SCAN_BYTES = 4 * 1024 * 1024  # embedded XMP sits in the first blocks of JPEG, TIFF, HEIC


def q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclass
class NamedRegion:
    """A name another tool (or the user in it) put on an area of a photo."""

    name: str
    box: Box | None  # relative to the upright photo; None for PersonInImage alone
    source: str  # the file it was read from


@dataclass
class FaceEntry:
    """What photosense writes for one face."""

    face_id: int
    name: str | None  # None: an unnamed person's region, written with no name at all
    box: Box  # relative to the upright photo


# -- orientation -------------------------------------------------------------------


def to_stored(box: Box, orientation: int) -> Box:
    """A box of the upright photo, in the coordinates of the pixels as stored."""
    return _turn(box, _INVERSE.get(orientation, orientation))


def to_upright(box: Box, orientation: int) -> Box:
    """A box of the stored pixels, in the coordinates of the upright photo."""
    return _turn(box, orientation)


# EXIF orientation k maps stored pixels to the upright view; the inverse view maps back.
_INVERSE = {6: 8, 8: 6}


def _turn(b: Box, orientation: int) -> Box:
    x, y, w, h = b.as_tuple()
    return {
        1: Box(x, y, w, h),
        2: Box(1 - x - w, y, w, h),
        3: Box(1 - x - w, 1 - y - h, w, h),
        4: Box(x, 1 - y - h, w, h),
        5: Box(y, x, h, w),
        6: Box(1 - y - h, x, h, w),
        7: Box(1 - y - h, 1 - x - w, h, w),
        8: Box(y, 1 - x - w, h, w),
    }.get(orientation, Box(x, y, w, h))


# -- reading -----------------------------------------------------------------------


class SidecarError(Exception):
    """A sidecar photosense will not read or change; `reason` says why, for one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sidecars(path: Path) -> list[Path]:
    """The sidecars a photo may have: IMG_1.jpg.xmp (digiKam, darktable), IMG_1.xmp
    (Lightroom, Capture One)."""
    return [path.with_name(path.name + ".xmp"), path.with_suffix(".xmp")]


def read_bounded(path: Path, limit: int = MAX_SIDECAR_BYTES) -> bytes:
    """A sidecar's bytes (files.read_limited); SidecarError when it is refused."""
    try:
        return read_limited(path, limit, "a sidecar")
    except ReadRefused as e:
        raise SidecarError(e.reason) from None


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".tif", ".tiff", ".webp",
                   ".gif", ".bmp", ".avif", ".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw",
                   ".sr2", ".orf", ".rw2", ".raf", ".pef", ".srw")
_RAW_SUFFIXES = frozenset(_IMAGE_SUFFIXES[11:])


def stem_partners(path: Path) -> list[Path]:
    """Other images that IMG_1.xmp would belong to as much as to IMG_1.jpg (IMG_1.png,
    IMG_1.heic), not counting a RAW+JPEG pair, which is one photo with one sidecar."""
    own_raw = path.suffix.lower() in _RAW_SUFFIXES
    out = []
    for suffix in _IMAGE_SUFFIXES:
        for s in (suffix, suffix.upper()):
            other = path.with_suffix(s)
            if s == path.suffix or not other.is_file():
                continue
            if (s.lower() in _RAW_SUFFIXES) != own_raw and {s.lower(), path.suffix.lower()} & {
                    ".jpg", ".jpeg"}:
                continue  # RAW+JPEG: one photo
            out.append(other)
    return out


def read_metadata(path: Path, orientation: int = 1, data: bytes | None = None,
                  ) -> tuple[list[NamedRegion], list[tuple[str, str]],
                             tuple[float, float] | None]:
    """Named regions and people from the photo's own XMP (JPEG APP1, TIFF, DNG, HEIC: the
    packet is found in the file's first blocks) and from its sidecars, and the GPS
    position they hold (exif:GPSLatitude/GPSLongitude: a sidecar's first, where
    geotagging tools write for RAW files, else the photo's own). `data`: the file's
    bytes when the caller has them already.

    Returns the regions, the problems: (file, reason), one for each file something was
    refused in (the photo is imported all the same, with what could be read), and the
    position or None.
    """
    found: list[NamedRegion] = []
    problems: list[tuple[str, str]] = []
    packets: list[tuple[bytes, str]] = []
    try:
        if data is None:
            with open(path, "rb") as f:
                data = f.read(SCAN_BYTES)
        m = _PACKET.search(data[:SCAN_BYTES])
        if m:
            packets.append((m.group(), str(path)))
    except OSError:
        pass
    dotted, stem = sidecars(path)
    for side in (dotted, stem):
        try:
            packets.append((read_bounded(side), str(side)))
        except FileNotFoundError:
            continue
        except SidecarError as e:
            problems.append((str(side), e.reason))
            continue
        except OSError as e:
            problems.append((str(side), f"cannot read: {e.strerror or e}"))
            continue
        if side == stem and (partners := stem_partners(path)):
            packets.pop()
            one, two = sorted([path.name, partners[0].name])  # whichever photo is read
            problems.append((str(side), f"belongs to {one} and {two} alike; its names are "
                             "not read (rename one photo, or give each a .jpg.xmp sidecar)"))
    positions: list[tuple[float, float]] = []
    for data, source in packets:
        try:
            root = xmltree.parse(_packet_xml(data))
        except xmltree.XmlError as e:
            problems.append((source, f"{e}; its names are not read"))
            continue
        regions, issues = _names_in(root, orientation, f"xmp:{source}")
        found += regions
        if issues:
            more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
            problems.append((source, issues[0] + more))
        if (where := position_in(root)) is not None:
            positions.append(where)
    # packets: the photo's own first, then its sidecars; the last sidecar's wins
    return _unique(found), problems, positions[-1] if positions else None


def _packet_xml(data: bytes) -> bytes:
    m = _PACKET.search(data)
    return m.group() if m else data


def _is_ours(li: Node) -> bool:
    s = _struct(li)
    return s is not None and _field(s, "photosense", "FaceId") is not None


def _names_in(root: Node, orientation: int, source: str) -> tuple[list[NamedRegion], list[str]]:
    out: list[NamedRegion] = []
    issues: list[str] = []

    def usable(name: str | None, ours: bool) -> str | None:
        if name is None or not name.strip():
            return None
        if ours and PLACEHOLDER.fullmatch(name.strip()):
            return None  # round two's stand-in for an unnamed person, not a name
        if (problem := name_problem(name)) is not None:
            shown = name if len(name) <= 40 else f"{name[:40]}..."
            issues.append(f"name {shown!r} refused: {problem}")
            return None
        return name.strip()

    regions = 0
    for holder_tag, list_tag in ((q("mwg-rs", "Regions"), q("mwg-rs", "RegionList")),
                                 (q("MP", "RegionInfo"), q("MPRI", "Regions"))):
        for holder in root.iter(holder_tag):
            for lst in holder.findall(list_tag):
                for li in lst.iter(q("rdf", "li")):
                    desc = _struct(li)
                    if desc is None:
                        continue
                    regions += 1
                    if regions > MAX_REGIONS:
                        issues.append(f"more than {MAX_REGIONS} regions; the rest are not read")
                        return out, issues
                    region = _region(desc, orientation, usable, issues)
                    if region is not None:
                        out.append(NamedRegion(region[0], region[1], source))
    owned = _owned_values(root)[q("Iptc4xmpExt", "PersonInImage")]
    for bag in root.iter(q("Iptc4xmpExt", "PersonInImage")):
        for li in bag.iter(q("rdf", "li")):
            if (name := usable(li.text, li.text in owned)) is not None:
                out.append(NamedRegion(name, None, source))
    return out, issues


def _region(desc: Node, orientation: int, usable, issues: list[str]) -> tuple[str, Box] | None:
    ours = _field(desc, "photosense", "FaceId") is not None
    if desc.find(q("mwg-rs", "Area")) is not None or _field(desc, "mwg-rs", "Name") is not None:
        kind = _field(desc, "mwg-rs", "Type")
        name = usable(_field(desc, "mwg-rs", "Name"), ours)
        area = desc.find(q("mwg-rs", "Area"))
        if name is None or kind not in (None, "Face") or area is None:
            return None
        a = _fields(area, "stArea")
        try:
            w, h = float(a["w"]), float(a["h"])
            box: Box | None = Box(float(a["x"]) - w / 2, float(a["y"]) - h / 2, w, h)
        except (KeyError, ValueError):
            box = None
    else:
        name = usable(_field(desc, "MPReg", "PersonDisplayName"), ours)
        rect = _field(desc, "MPReg", "Rectangle")
        if name is None or rect is None:
            return None
        try:
            x, y, w, h = (float(v) for v in rect.split(","))
            box = Box(x, y, w, h)
        except ValueError:
            box = None
    box = box.valid() if box is not None else None
    if box is None:
        issues.append(f"region {name!r} has no valid area (empty, or outside the photo); "
                      "ignored")
        return None
    return name, to_upright(box, orientation)


def _unique(regions: list[NamedRegion]) -> list[NamedRegion]:
    """A name with a box makes its bare PersonInImage entry redundant; MWG and MP
    regions of one face are one."""
    out: list[NamedRegion] = []
    for r in regions:
        if r.box is None and any(o.name == r.name for o in out):
            continue
        if r.box is not None and any(o.name == r.name and o.box is not None
                                     and o.box.iou(r.box) > 0.5 for o in out):
            continue
        out = [o for o in out if not (r.box is not None and o.box is None and o.name == r.name)]
        out.append(r)
    return out


def _struct(li: Node) -> Node | None:
    """The struct of an rdf:li: an rdf:Description child, or the li itself
    (rdf:parseType="Resource")."""
    desc = li.find(q("rdf", "Description"))
    if desc is not None:
        return desc
    return li if li.children or li.attrib else None


def _field(el: Node, prefix: str, name: str) -> str | None:
    """A simple property written either as an attribute or as a child element."""
    v = el.get(q(prefix, name))
    if v is not None:
        return v
    child = el.find(q(prefix, name))
    return child.text if child is not None else None


def _fields(el: Node, prefix: str) -> dict[str, str]:
    ns = f"{{{NS[prefix]}}}"
    out = {k[len(ns):]: v for k, v in el.attrib.items() if k.startswith(ns)}
    for child in el.children:
        if child.tag.startswith(ns) and child.text:
            out[child.tag[len(ns):]] = child.text
    return out


# -- what photosense owns in a sidecar -----------------------------------------------

PERSON_IN_IMAGE = q("Iptc4xmpExt", "PersonInImage")
SUBJECT = q("dc", "subject")
HIERARCHY = q("lr", "hierarchicalSubject")
TAGS = q("digiKam", "TagsList")
# each shared list, and the photosense list recording which of its values photosense added
OWNED_BY = {PERSON_IN_IMAGE: q("photosense", "People"), SUBJECT: q("photosense", "Subject"),
            HIERARCHY: q("photosense", "Hierarchy"), TAGS: q("photosense", "Tags")}
LEGACY_KEYWORDS = q("photosense", "Keywords")  # round two: names added to all three bags
REGION_HOLDERS = ((q("mwg-rs", "Regions"), q("mwg-rs", "RegionList")),
                  (q("MP", "RegionInfo"), q("MPRI", "Regions")))


def _values(el: Node) -> list[str]:
    return [li.text for li in el.iter(q("rdf", "li"))]


def _owned_values(root: Node) -> dict[str, set[str]]:
    """For each shared list, the values photosense recorded as its own."""
    owned: dict[str, set[str]] = {tag: set() for tag in OWNED_BY}
    for tag, record in OWNED_BY.items():
        for el in root.iter(record):
            owned[tag].update(_values(el))
    for el in root.iter(LEGACY_KEYWORDS):
        for k in _values(el):
            owned[SUBJECT].add(k)
            owned[HIERARCHY].add(f"People|{k}")
            owned[TAGS].add(f"People/{k}")
    return owned


def ours(data: bytes) -> tuple:
    """photosense's part of a sidecar, in a canonical form: two sidecars with the same
    part need no rewrite, whatever else differs."""
    root = xmltree.parse(_packet_xml(data))
    owned = _owned_values(root)
    regions = []
    for holder_tag, _ in REGION_HOLDERS:
        for holder in root.iter(holder_tag):
            for li in holder.iter(q("rdf", "li")):
                if _is_ours(li) and (s := _struct(li)) is not None:
                    regions.append((holder_tag, sorted(s.attrib.items()), [
                        (c.tag, sorted(c.attrib.items()), c.text.strip()) for c in s.children]))
    present = {tag: sorted(v for p in root.iter(tag) for v in _values(p) if v in owned[tag])
               for tag in OWNED_BY}
    records = sorted((t, sorted(_values(el))) for t in (*OWNED_BY.values(), LEGACY_KEYWORDS)
                     for el in root.iter(t))
    return sorted(regions, key=repr), present, records


# -- writing -----------------------------------------------------------------------

EMPTY = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
         '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
         ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
         '  <rdf:Description rdf:about=""'
         + "".join(f'\n    xmlns:{p}="{NS[p]}"' for p in (
             "Iptc4xmpExt", "MP", "MPRI", "MPReg", "dc", "digiKam", "lr", "mwg-rs", "photosense",
             "stArea", "stDim")) + '/>\n'
         ' </rdf:RDF>\n'
         '</x:xmpmeta>\n'
         '<?xpacket end="w"?>\n').encode("utf-8")

_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")


def render(existing: bytes | None, entries: list[FaceEntry], *, width: int, height: int,
           orientation: int = 1, keywords: bool = False) -> bytes:
    """The sidecar with photosense's entries replaced by `entries`, every other byte as it was.

    width and height are the upright photo's; stored dimensions follow from the
    orientation. Deterministic: the same input gives the same bytes, and when
    photosense's part would not change the existing bytes come back as they are.
    SidecarError or xmltree.XmlError for a document photosense will not change.
    """
    if existing is None:
        return _splice(EMPTY, entries, width, height, orientation, keywords)
    if existing[:2] in (b"\xff\xfe", b"\xfe\xff") or (
            (m := _ENCODING.match(existing)) and m.group(1).lower().replace(b"-", b"") != b"utf8"):
        raise SidecarError("not UTF-8; not changed")
    out = _splice(existing, entries, width, height, orientation, keywords)
    return existing if ours(out) == ours(existing) else out


def _indent_of(data: bytes, node: Node) -> str | None:
    """The spaces before `node` on its line, or None when it shares the line with a tag."""
    i = node.start
    while i > 0 and data[i - 1] in b" \t":
        i -= 1
    if i == 0 or data[i - 1] in b"\r\n":
        return data[i:node.start].decode("ascii")
    return None


def _ws_start(data: bytes, node: Node) -> int:
    """Where the white space before `node` begins: it leaves with the node."""
    i = node.start
    while i > 0 and data[i - 1] in b" \t\r\n":
        i -= 1
    return i


class _Splice:
    """Removals and insertions over one parsed document, applied in one pass."""

    def __init__(self, data: bytes, root: Node):
        self.data, self.root = data, root
        self.removed: set[int] = set()
        self.edits: list[tuple[int, int, bytes]] = []
        self.inserts: dict[int, tuple[Node, list[El]]] = {}

    def remove(self, node: Node) -> None:
        self.removed.add(id(node))
        self.edits.append((_ws_start(self.data, node), node.end, b""))

    def alive(self, nodes: list[Node]) -> list[Node]:
        return [n for n in nodes if id(n) not in self.removed]

    def insert(self, parent: Node, el: El) -> None:
        self.inserts.setdefault(id(parent), (parent, []))[1].append(el)

    def _prefixes(self, parent: Node, els: list[El]) -> tuple[dict[str, str], dict[str, str]]:
        prefixes: dict[str, str] = {}
        declare: dict[str, str] = {}
        for uri in dict.fromkeys(u for el in els for u in el.uris()):
            prefix = parent.prefix_for(uri)
            if prefix is None:
                base = _PREFIX.get(uri, "ns")
                prefix, n = base, 1
                while parent.ns.get(prefix, uri) != uri or (
                        prefix in declare and declare[prefix] != uri):
                    prefix, n = f"{base}{n}", n + 1
                declare[prefix] = uri
            prefixes[uri] = prefix
        return prefixes, declare

    def _insertion(self, parent: Node, els: list[El]) -> tuple[int, int, bytes]:
        data = self.data
        own = _indent_of(data, parent) or ""
        first = parent.children[0] if parent.children else None
        inner = (_indent_of(data, first) if first is not None else None) or own + " "
        prefixes, declare = self._prefixes(parent, els)
        body = "".join(
            "\n" + inner + el.render(prefixes, {p: u for p, u in declare.items()
                                                if u in el.uris()}, inner)
            for el in els).encode("utf-8")
        alive = self.alive(parent.children)
        if alive:
            return alive[-1].end, alive[-1].end, body
        if parent.empty:  # <rdf:Description .../> opens up to take children
            close = b"\n" + own.encode() + b"</" + parent.qname + b">"
            return parent.head_end - 2, parent.head_end, b">" + body + close
        return parent.head_end, parent.head_end, body

    def result(self) -> bytes:
        edits = self.edits + [self._insertion(p, els) for p, els in self.inserts.values()]
        edits.sort(key=lambda e: (e[0], e[1]))
        out, cursor = [], 0
        for start, end, text in edits:
            if start < cursor:
                raise SidecarError("overlapping changes; not changed")  # a bug, never data loss
            out += [self.data[cursor:start], text]
            cursor = end
        out.append(self.data[cursor:])
        return b"".join(out)


def _li(value: str) -> El:
    return El(NS["rdf"], "li", text=value)


def _bag(values: list[str], seq: bool = False) -> El:
    return El(NS["rdf"], "Seq" if seq else "Bag", children=[_li(v) for v in values])


def _prop(tag: str, values: list[str], seq: bool = False) -> El:
    uri, local = tag[1:].split("}")
    return El(uri, local, children=[_bag(values, seq)])


def _splice(data: bytes, entries: list[FaceEntry], width: int, height: int, orientation: int,
            keywords: bool) -> bytes:
    root = xmltree.parse(data)
    rdf = next(root.iter(q("rdf", "RDF")), None)
    if rdf is None:
        raise SidecarError("no rdf:RDF element: not an XMP sidecar; not changed")
    descs = rdf.findall(q("rdf", "Description"))
    if not descs:
        edit = _Splice(data, root)
        edit.insert(rdf, El(NS["rdf"], "Description", [(NS["rdf"], "about", "")]))
        return _splice(edit.result(), entries, width, height, orientation, keywords)
    owned = _owned_values(root)
    edit = _Splice(data, root)
    for d in descs:
        for holder_tag, _ in REGION_HOLDERS:
            for holder in d.findall(holder_tag):
                _remove_where(edit, holder, list(holder.iter(q("rdf", "li"))), _is_ours)
        for tag in OWNED_BY:
            for prop in d.findall(tag):
                _remove_where(edit, prop, list(prop.iter(q("rdf", "li"))),
                              lambda li, tag=tag: li.text in owned[tag])
        for record in (*OWNED_BY.values(), LEGACY_KEYWORDS):
            for el in d.findall(record):
                edit.remove(el)

    desc = descs[0]
    stored_w, stored_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if entries:
        theirs = _their_regions(root, orientation)
        _add_regions(edit, descs, entries, stored_w, stored_h, orientation, theirs)
    names = sorted({e.name for e in entries if e.name})
    tags = names if keywords else []
    added: dict[str, list[str]] = {}
    for tag, values, seq in ((PERSON_IN_IMAGE, names, False), (SUBJECT, tags, False),
                             (HIERARCHY, [f"People|{n}" for n in tags], False),
                             (TAGS, [f"People/{n}" for n in tags], True)):
        added[tag] = _add_values(edit, descs, tag, values, seq)
    for tag, record in OWNED_BY.items():
        if added[tag]:
            edit.insert(desc, _prop(record, added[tag]))
    return edit.result()


def _remove_where(edit: _Splice, holder: Node, items: list[Node], mine) -> None:
    """Remove the items that are photosense's; the holder too when nothing else is in it."""
    gone = [li for li in items if mine(li)]
    if gone and len(gone) == len(items):
        edit.remove(holder)
    else:
        for li in gone:
            edit.remove(li)


def _first_alive(edit: _Splice, parents: list[Node], tag: str) -> Node | None:
    return next((c for p in parents for c in edit.alive(p.findall(tag))), None)


def _add_values(edit: _Splice, descs: list[Node], tag: str, values: list[str],
                seq: bool) -> list[str]:
    """Add the values a shared list lacks; returns those added (the ones photosense owns)."""
    props = [p for d in descs for p in edit.alive(d.findall(tag))]
    present = {li.text for p in props for li in p.iter(q("rdf", "li"))
               if id(li) not in edit.removed}
    new = [v for v in values if v not in present]
    if not new:
        return []
    if not props:
        edit.insert(descs[0], _prop(tag, new, seq))
        return new
    containers = edit.alive(props[0].children)
    if containers:
        for v in new:
            edit.insert(containers[0], _li(v))
    else:
        edit.insert(props[0], _bag(new, seq))
    return new


# A region another tool wrote over the same face under the same name (box overlap by
# intersection over union, as when faces are paired): the face is recorded already.
SAME_FACE_IOU = 0.3


def _their_regions(root: Node, orientation: int) -> dict[str, list[tuple[str, Box]]]:
    """The named regions other tools wrote, by kind (mwg, mp): (name, upright box)."""
    out: dict[str, list[tuple[str, Box]]] = {"mwg": [], "mp": []}
    for kind, (holder_tag, list_tag) in zip(("mwg", "mp"), REGION_HOLDERS, strict=True):
        for holder in root.iter(holder_tag):
            for lst in holder.findall(list_tag):
                for li in list(lst.iter(q("rdf", "li")))[:MAX_REGIONS]:
                    desc = _struct(li)
                    if desc is None or _is_ours(li):
                        continue
                    found = _region(desc, orientation, lambda n, ours: n.strip() if n else None,
                                    [])
                    if found is not None:
                        out[kind].append(found)
    return out


def _add_regions(edit: _Splice, descs: list[Node], entries: list[FaceEntry], stored_w: int,
                 stored_h: int, orientation: int,
                 theirs: dict[str, list[tuple[str, Box]]] | None = None) -> None:
    """photosense's regions, MWG and Microsoft, for each face; of a kind another tool
    already wrote for the face under the same name, none (no face twice in digiKam)."""
    theirs = theirs or {"mwg": [], "mp": []}

    def recorded(kind: str, e: FaceEntry) -> bool:
        return bool(e.name) and any(name == e.name and box.iou(e.box) >= SAME_FACE_IOU
                                    for name, box in theirs[kind])

    mwg, mp = [], []
    for e in entries:
        b = to_stored(e.box, orientation)
        named = [(NS["mwg-rs"], "Name", e.name)] if e.name else []
        if not recorded("mwg", e):
            mwg.append(El(NS["rdf"], "li", children=[El(NS["rdf"], "Description", [
                *named, (NS["mwg-rs"], "Type", "Face"),
                (NS["photosense"], "FaceId", str(e.face_id))],
                children=[El(NS["mwg-rs"], "Area", [
                    (NS["stArea"], "x", _num(b.left + b.width / 2)),
                    (NS["stArea"], "y", _num(b.top + b.height / 2)),
                    (NS["stArea"], "w", _num(b.width)), (NS["stArea"], "h", _num(b.height)),
                    (NS["stArea"], "unit", "normalized")])])]))
        mp_named = [(NS["MPReg"], "PersonDisplayName", e.name)] if e.name else []
        if not recorded("mp", e):
            mp.append(El(NS["rdf"], "li", children=[El(NS["rdf"], "Description", [
                *mp_named, (NS["MPReg"], "Rectangle", ", ".join(_num(v) for v in b.as_tuple())),
                (NS["photosense"], "FaceId", str(e.face_id))])]))
    dims = El(NS["mwg-rs"], "AppliedToDimensions", [
        (NS["stDim"], "w", str(stored_w)), (NS["stDim"], "h", str(stored_h)),
        (NS["stDim"], "unit", "pixel")])
    for (holder_tag, list_tag), items, extra in (
            (REGION_HOLDERS[0], mwg, [dims]), (REGION_HOLDERS[1], mp, [])):
        if not items:
            continue
        holder = _first_alive(edit, descs, holder_tag)
        uri, local = holder_tag[1:].split("}")
        list_uri, list_local = list_tag[1:].split("}")
        if holder is None:
            edit.insert(descs[0], El(uri, local, [(NS["rdf"], "parseType", "Resource")],
                                     children=[*extra, El(list_uri, list_local,
                                                          children=[El(NS["rdf"], "Bag",
                                                                       children=items)])]))
            continue
        lst = _first_alive(edit, [holder], list_tag)
        if lst is None:
            edit.insert(holder, El(list_uri, list_local,
                                   children=[El(NS["rdf"], "Bag", children=items)]))
            continue
        bags = edit.alive(lst.children)
        if not bags:
            edit.insert(lst, El(NS["rdf"], "Bag", children=items))
            continue
        for item in items:
            edit.insert(bags[0], item)


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") or "0"
