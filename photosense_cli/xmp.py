"""XMP: face regions and people in the metadata other photo tools read and write.

photosense writes sidecars (never the original) with three kinds of entries,
because different tools read different ones:

- MWG regions (mwg-rs:Regions): digiKam, Lightroom, darktable, exiftool, Immich.
- Microsoft Photo regions (MP:RegionInfo): Windows Photo Gallery and its heirs.
- Iptc4xmpExt:PersonInImage, and with keywords=True dc:subject,
  lr:hierarchicalSubject ("People|Name") and digiKam:TagsList ("People/Name").

Everything else in a sidecar (ratings, labels, develop settings, other tools'
regions and keywords) is kept as it is. photosense's own entries carry a
photosense:FaceId on each region, and the names and keywords it added are
listed under photosense:People and photosense:Keywords, so a rerun replaces
exactly what photosense wrote before and nothing else.

Orientation (MWG 2.0, "Image Region Metadata"): region areas are relative to
the image as stored, before its EXIF orientation is applied, and
AppliedToDimensions are the stored pixel dimensions; a viewer that turns the
photo upright turns the regions with it. The catalogue keeps boxes relative to
the upright photo, so they are turned back on the way out (and on the way in).
MP regions follow the same rule here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from photosense_cli.files import replace_atomically
from photosense_cli.records import Box

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
    # namespaces other tools write often, registered so their prefixes survive a rewrite
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "darktable": "http://darktable.sf.net/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

RAW_EXTENSIONS = {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".sr2", ".orf", ".rw2",
                  ".raf", ".pef", ".srw"}
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
    name: str
    box: Box  # relative to the upright photo


@dataclass
class Written:
    path: Path
    changed: bool
    entries: list[FaceEntry] = field(default_factory=list)


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


def sidecars(path: Path) -> list[Path]:
    """The sidecars a photo may have: IMG_1.jpg.xmp (digiKam, darktable), IMG_1.xmp
    (Lightroom, Capture One)."""
    return [path.with_name(path.name + ".xmp"), path.with_suffix(".xmp")]


def read_names(path: Path, orientation: int = 1, data: bytes | None = None) -> list[NamedRegion]:
    """Named regions and people from the photo's own XMP (JPEG APP1, TIFF, DNG, HEIC: the
    packet is found in the file's first blocks) and from its sidecars. `data`: the file's
    bytes when the caller has them already."""
    found: list[NamedRegion] = []
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
    for side in sidecars(path):
        try:
            packets.append((side.read_bytes(), str(side)))
        except OSError:
            continue
    for data, source in packets:
        try:
            root = ET.fromstring(_packet_xml(data))
        except ET.ParseError:
            continue
        found += _names_in(root, orientation, f"xmp:{source}")
    return found


def _packet_xml(data: bytes) -> bytes:
    m = _PACKET.search(data)
    return m.group() if m else data


def _names_in(root: ET.Element, orientation: int, source: str) -> list[NamedRegion]:
    out = []
    for li in root.iter(q("rdf", "li")):
        desc = _struct(li)
        if desc is None:
            continue
        name = _field(desc, "mwg-rs", "Name")
        kind = _field(desc, "mwg-rs", "Type")
        area = desc.find(q("mwg-rs", "Area"))
        if name and (kind in (None, "Face")) and area is not None:
            a = _fields(area, "stArea")
            try:
                w, h = float(a["w"]), float(a["h"])
                box = Box(float(a["x"]) - w / 2, float(a["y"]) - h / 2, w, h)
                out.append(NamedRegion(name, to_upright(box, orientation), source))
            except (KeyError, ValueError):
                pass
            continue
        mp_name = _field(desc, "MPReg", "PersonDisplayName")
        rect = _field(desc, "MPReg", "Rectangle")
        if mp_name and rect:
            try:
                x, y, w, h = (float(v) for v in rect.split(","))
                out.append(NamedRegion(mp_name, to_upright(Box(x, y, w, h), orientation),
                                       source))
            except ValueError:
                pass
    for bag in root.iter(q("Iptc4xmpExt", "PersonInImage")):
        for li in bag.iter(q("rdf", "li")):
            if li.text and li.text.strip():
                out.append(NamedRegion(li.text.strip(), None, source))
    return _unique(out)


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


def _struct(li: ET.Element) -> ET.Element | None:
    """The struct of an rdf:li: an rdf:Description child, or the li itself
    (rdf:parseType="Resource")."""
    desc = li.find(q("rdf", "Description"))
    if desc is not None:
        return desc
    return li if len(li) or li.attrib else None


def _field(el: ET.Element, prefix: str, name: str) -> str | None:
    """A simple property written either as an attribute or as a child element."""
    v = el.get(q(prefix, name))
    if v is not None:
        return v
    child = el.find(q(prefix, name))
    return child.text if child is not None else None


def _fields(el: ET.Element, prefix: str) -> dict[str, str]:
    out = {k.split("}")[1]: v for k, v in el.attrib.items() if k.startswith(f"{{{NS[prefix]}}}")}
    for child in el:
        if child.tag.startswith(f"{{{NS[prefix]}}}") and child.text:
            out[child.tag.split("}")[1]] = child.text
    return out


# -- writing -----------------------------------------------------------------------

EMPTY = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
         b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
         b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
         b'<rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')


def render(existing: bytes | None, entries: list[FaceEntry], *, width: int, height: int,
           orientation: int = 1, keywords: bool = False) -> bytes:
    """The sidecar with photosense's entries replaced by `entries`, all else as it was.

    width and height are the upright photo's; stored dimensions follow from the
    orientation. Deterministic: the same input gives the same bytes.
    """
    packet = _packet_xml(existing or EMPTY)
    _keep_prefixes(packet)
    root = ET.fromstring(packet)
    rdf = root.find(q("rdf", "RDF"))
    if rdf is None:
        rdf = ET.SubElement(root, q("rdf", "RDF"))
    descs = rdf.findall(q("rdf", "Description"))
    desc = descs[0] if descs else ET.SubElement(rdf, q("rdf", "Description"), {q("rdf", "about"): ""})
    owned_names = set(_owned(desc, "People"))
    owned_keywords = set(_owned(desc, "Keywords"))
    for d in descs:
        _remove_ours(d, owned_names, owned_keywords)
    stored_w, stored_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    names = sorted({e.name for e in entries})
    if entries:
        _write_mwg(desc, entries, stored_w, stored_h, orientation)
        _write_mp(desc, entries, orientation)
    _add_to_bag(desc, q("Iptc4xmpExt", "PersonInImage"), names)
    tags = names if keywords else []
    _add_to_bag(desc, q("dc", "subject"), tags)
    _add_to_bag(desc, q("lr", "hierarchicalSubject"), [f"People|{n}" for n in tags])
    _add_to_bag(desc, q("digiKam", "TagsList"), [f"People/{n}" for n in tags], seq=True)
    _set_owned(desc, "People", names)
    _set_owned(desc, "Keywords", tags)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body
            + '\n<?xpacket end="w"?>\n').encode("utf-8")


def _keep_prefixes(packet: bytes) -> None:
    """Another tool's namespace prefixes stay as they were (ElementTree would say ns0)."""
    import io

    for _, (prefix, uri) in ET.iterparse(io.BytesIO(packet), events=("start-ns",)):
        if prefix and uri not in NS.values():
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:  # prefixes like ns0 are ElementTree's own
                pass


def _owned(desc: ET.Element, what: str) -> list[str]:
    el = desc.find(q("photosense", what))
    return [li.text or "" for li in el.iter(q("rdf", "li"))] if el is not None else []


def _set_owned(desc: ET.Element, what: str, values: list[str]) -> None:
    for el in desc.findall(q("photosense", what)):
        desc.remove(el)
    if values:
        _bag(desc, q("photosense", what), values)


def _remove_ours(desc: ET.Element, names: set[str], keywords: set[str]) -> None:
    """Drop what photosense wrote before: its regions, and the names and keywords it added."""
    for container in (q("mwg-rs", "Regions"), q("MP", "RegionInfo")):
        for holder in desc.findall(container):
            for bag in holder.iter(q("rdf", "Bag")):
                for li in list(bag):
                    s = _struct(li)
                    if s is not None and s.get(q("photosense", "FaceId")) is not None:
                        bag.remove(li)
            if not any(True for _ in holder.iter(q("rdf", "li"))):
                desc.remove(holder)
    wrote = {q("Iptc4xmpExt", "PersonInImage"): names, q("dc", "subject"): keywords,
             q("lr", "hierarchicalSubject"): {f"People|{k}" for k in keywords},
             q("digiKam", "TagsList"): {f"People/{k}" for k in keywords}}
    for tag, values in wrote.items():
        for prop in desc.findall(tag):
            for items in prop:
                for li in list(items):
                    if li.text in values:
                        items.remove(li)
                if not len(items):
                    prop.remove(items)
            if not len(prop):
                desc.remove(prop)


def _bag(parent: ET.Element, tag: str, values: list[str], seq: bool = False) -> ET.Element:
    prop = ET.SubElement(parent, tag)
    container = ET.SubElement(prop, q("rdf", "Seq" if seq else "Bag"))
    for v in values:
        ET.SubElement(container, q("rdf", "li")).text = v
    return prop


def _add_to_bag(desc: ET.Element, tag: str, values: list[str], seq: bool = False) -> None:
    if not values:
        return
    prop = desc.find(tag)
    if prop is None:
        _bag(desc, tag, values, seq)
        return
    container = prop[0] if len(prop) else ET.SubElement(prop, q("rdf", "Seq" if seq else "Bag"))
    present = {li.text for li in container}
    for v in values:
        if v not in present:
            ET.SubElement(container, q("rdf", "li")).text = v


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") or "0"


def _write_mwg(desc, entries, stored_w, stored_h, orientation) -> None:
    regions = desc.find(q("mwg-rs", "Regions"))
    if regions is None:
        regions = ET.SubElement(desc, q("mwg-rs", "Regions"), {q("rdf", "parseType"): "Resource"})
    dims = regions.find(q("mwg-rs", "AppliedToDimensions"))
    if dims is None:
        dims = ET.SubElement(regions, q("mwg-rs", "AppliedToDimensions"))
    dims.attrib.update({q("stDim", "w"): str(stored_w), q("stDim", "h"): str(stored_h),
                        q("stDim", "unit"): "pixel"})
    bag = _region_bag(regions, q("mwg-rs", "RegionList"))
    for e in entries:
        b = to_stored(e.box, orientation)
        li = ET.SubElement(bag, q("rdf", "li"))
        d = ET.SubElement(li, q("rdf", "Description"), {
            q("mwg-rs", "Name"): e.name, q("mwg-rs", "Type"): "Face",
            q("photosense", "FaceId"): str(e.face_id)})
        ET.SubElement(d, q("mwg-rs", "Area"), {
            q("stArea", "x"): _num(b.left + b.width / 2), q("stArea", "y"): _num(b.top + b.height / 2),
            q("stArea", "w"): _num(b.width), q("stArea", "h"): _num(b.height),
            q("stArea", "unit"): "normalized"})


def _write_mp(desc, entries, orientation) -> None:
    info = desc.find(q("MP", "RegionInfo"))
    if info is None:
        info = ET.SubElement(desc, q("MP", "RegionInfo"), {q("rdf", "parseType"): "Resource"})
    bag = _region_bag(info, q("MPRI", "Regions"))
    for e in entries:
        b = to_stored(e.box, orientation)
        li = ET.SubElement(bag, q("rdf", "li"))
        ET.SubElement(li, q("rdf", "Description"), {
            q("MPReg", "PersonDisplayName"): e.name,
            q("MPReg", "Rectangle"): ", ".join(_num(v) for v in b.as_tuple()),
            q("photosense", "FaceId"): str(e.face_id)})


def _region_bag(holder: ET.Element, tag: str) -> ET.Element:
    lst = holder.find(tag)
    if lst is None:
        lst = ET.SubElement(holder, tag)
    bag = lst.find(q("rdf", "Bag"))
    if bag is None:
        bag = ET.SubElement(lst, q("rdf", "Bag"))
    return bag


def write_atomically(path: Path, data: bytes) -> bool:
    """Write a sidecar through a temporary file; False (nothing written) if unchanged.

    A new file is 0600 (face regions are biometric data); an existing one keeps its mode.
    """
    try:
        if path.read_bytes() == data:
            return False
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    replace_atomically(path, lambda f: f.write(data), mode)
    return True
