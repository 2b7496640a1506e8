"""Where a photo was taken: GPS positions from EXIF and from XMP, both untrusted input.

Positions are (latitude, longitude) in WGS 84 degrees, rounded to 1e-7 degree (about a
centimetre). 0,0 (a point in the Gulf of Guinea) is what cameras without a fix write,
so it is no position.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

    from photosense_cli.xmltree import Node


def gps_of(img: Image.Image) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees from the EXIF GPS directory, or None.

    The tags are untrusted: anything that is not three finite rationals within range
    is no position. 0,0 (a point in the Gulf of Guinea) is what cameras without a fix
    write, so it is no position either."""
    try:
        gps = img.getexif().get_ifd(0x8825)
        if not gps:
            return None
        lat = _degrees(gps.get(2), gps.get(1), "NS", 90)
        lon = _degrees(gps.get(4), gps.get(3), "EW", 180)
    except Exception:
        return None
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)  # 1e-7 degree: about a centimetre


def _degrees(value, ref, signs: str, limit: float) -> float | None:
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    d, m, s = (float(v) for v in value)
    degrees = d + m / 60 + s / 3600
    if not math.isfinite(degrees) or min(d, m, s) < 0 or max(m, s) >= 60 or degrees > limit:
        return None
    ref = str(ref or signs[0]).strip("\x00 ").upper()[:1]
    if ref not in signs:
        return None
    return -degrees if ref == signs[1] else degrees


EXIF_NS = "http://ns.adobe.com/exif/1.0/"
RDF_DESCRIPTION = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"


def position_in(root: Node) -> tuple[float, float] | None:
    """exif:GPSLatitude and GPSLongitude of any rdf:Description, as degrees, or None.

    XMP writes them "DDD,MM,SSk" or "DDD,MM.mmk" (k: N, S, E or W; the EXIF schema for
    XMP); a decimal "DDD.dddk" is read too. Anything else, out of range, or 0,0 (no
    fix), is no position."""
    for desc in root.iter(RDF_DESCRIPTION):
        lat = desc.get(f"{{{EXIF_NS}}}GPSLatitude")
        lon = desc.get(f"{{{EXIF_NS}}}GPSLongitude")
        for el in desc.children:
            if el.tag == f"{{{EXIF_NS}}}GPSLatitude":
                lat = el.text
            elif el.tag == f"{{{EXIF_NS}}}GPSLongitude":
                lon = el.text
        if lat is None or lon is None:
            continue
        a, b = _xmp_degrees(lat, "NS", 90), _xmp_degrees(lon, "EW", 180)
        if a is not None and b is not None and (a, b) != (0, 0):
            return round(a, 7), round(b, 7)
    return None


def _xmp_degrees(value: str, signs: str, limit: float) -> float | None:
    text = value.strip().upper()
    if not 2 <= len(text) <= 40 or text[-1] not in signs:
        return None
    try:
        parts = [float(x) for x in text[:-1].split(",")]
    except ValueError:
        return None
    if not 1 <= len(parts) <= 3 or any(not math.isfinite(x) or x < 0 for x in parts):
        return None
    if any(x >= 60 for x in parts[1:]):
        return None
    degrees = sum(x / 60 ** i for i, x in enumerate(parts))
    if degrees > limit:
        return None
    return -degrees if text[-1] == signs[1] else degrees


EARTH_KM = 6371.0088  # the mean radius (IUGG)
KM_PER_DEGREE = EARTH_KM * math.pi / 180  # of latitude, anywhere: 111.2 km


def km_between(lat1: float | None, lon1: float | None, lat2: float, lon2: float) -> float | None:
    """Haversine distance in km; None for a photo with no position."""
    if lat1 is None or lon1 is None:
        return None
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))
