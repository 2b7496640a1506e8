"""XMP sidecars, read back with exiv2 (pyexiv2), the library digiKam uses: never only with
photosense's own parser."""

import os
import stat

import pyexiv2
import pytest
from PIL import Image

from photosense_cli import xmp
from photosense_cli.records import Box
from tests.conftest import BOX, BOX2, photo

DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmp:Rating="4" xmp:Label="Red">
   <digiKam:TagsList><rdf:Seq><rdf:li>Places/Paris</rdf:li></rdf:Seq></digiKam:TagsList>
   <dc:subject><rdf:Bag><rdf:li>Paris</rdf:li></rdf:Bag></dc:subject>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="640" stDim:h="480" stDim:unit="pixel"/>
    <mwg-rs:RegionList><rdf:Bag><rdf:li><rdf:Description mwg-rs:Name="Eiffel Tower"
      mwg-rs:Type="Focus"><mwg-rs:Area stArea:x="0.8" stArea:y="0.2" stArea:w="0.1"
      stArea:h="0.3" stArea:unit="normalized"/></rdf:Description></rdf:li></rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" crs:Exposure2012="+0.35"
    crs:WhiteBalance="As Shot">
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Trips|Norway</rdf:li></rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def read(path) -> dict:
    img = pyexiv2.Image(str(path))
    try:
        return img.read_xmp()
    finally:
        img.close()


def all_regions(data: dict) -> list[tuple[str | None, Box]]:
    """(name or None, box) of the MWG regions, as exiv2 read them (centre x, y -> left, top)."""
    out = []
    for i in range(1, 300):
        base = f"Xmp.mwg-rs.Regions/mwg-rs:RegionList[{i}]"
        if f"{base}/mwg-rs:Area/stArea:x" not in data:
            break
        a = {k: float(data[f"{base}/mwg-rs:Area/stArea:{k}"]) for k in "xywh"}
        out.append((data.get(f"{base}/mwg-rs:Name"),
                    Box(a["x"] - a["w"] / 2, a["y"] - a["h"] / 2, a["w"], a["h"])))
    return out


def regions(data: dict) -> dict[str, Box]:
    """name -> box of the named MWG regions."""
    return {name: box for name, box in all_regions(data) if name is not None}


def close(a: Box, b: Box) -> bool:
    return all(abs(x - y) <= 0.005 for x, y in zip(a.as_tuple(), b.as_tuple(), strict=True))


@pytest.fixture
def named(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    p = photo(pics / "IMG_0042.jpg", faces=[(0, BOX), (1, BOX2)])
    cli.import_(pics)
    faces = {f["person_id"]: f for f in cli.json("show", p)["faces"]}
    ann = next(iter(faces))
    cli("people", "rename", ann, "Ann Lee")
    return {"photo": p, "ann": ann, "faces": faces}


def test_write_puts_named_faces_where_other_tools_read_them(cli, named):
    r = cli.json("xmp", "write")

    side = named["photo"].with_name("IMG_0042.jpg.xmp")
    assert r == {"written": [str(side)], "unchanged": [], "skipped": [], "failed": []}
    # whoever can read the photo can see its faces: the sidecar takes the photo's mode
    assert stat.S_IMODE(side.stat().st_mode) == stat.S_IMODE(named["photo"].stat().st_mode)
    data = read(side)
    box = Box(**named["faces"][named["ann"]]["box"])
    assert list(regions(data)) == ["Ann Lee"]  # the unnamed person is left out
    assert close(regions(data)["Ann Lee"], box)
    assert data["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"] == "640"
    assert data["Xmp.MP.RegionInfo/MPRI:Regions[1]/MPReg:PersonDisplayName"] == "Ann Lee"
    mp = [float(v) for v in data["Xmp.MP.RegionInfo/MPRI:Regions[1]/MPReg:Rectangle"].split(",")]
    assert close(Box(*mp), box)
    assert data["Xmp.iptcExt.PersonInImage"] == ["Ann Lee"]
    assert "Xmp.dc.subject" not in data  # keywords only when asked
    assert named["photo"].read_bytes() == named["photo"].read_bytes()  # originals untouched

    again = cli.json("xmp", "write")
    assert again == {"written": [], "unchanged": [str(side)], "skipped": [], "failed": []}


def test_changes_to_people_reach_the_sidecar_on_the_next_write(cli, named):
    cli("xmp", "write", "--include-unnamed", "--keywords")
    side = named["photo"].with_name("IMG_0042.jpg.xmp")
    other = next(p for p in named["faces"] if p != named["ann"])
    # the unnamed person's region carries no name: "Unknown person N" is no one's name
    found = all_regions(read(side))
    assert sorted(n or "" for n, _ in found) == ["", "Ann Lee"]
    assert close(dict(found)[None], Box(**named["faces"][other]["box"]))
    assert b"Unknown person" not in side.read_bytes()

    cli("people", "rename", named["ann"], "Ann Smith")
    cli("people", "unassign", named["faces"][other]["id"])
    before = side.read_bytes()
    cli("xmp", "write", "--keywords")

    data = read(side)
    assert side.read_bytes() != before
    assert list(regions(data)) == ["Ann Smith"]
    assert data["Xmp.iptcExt.PersonInImage"] == ["Ann Smith"]
    assert data["Xmp.dc.subject"] == ["Ann Smith"]
    assert data["Xmp.lr.hierarchicalSubject"] == ["People|Ann Smith"]
    assert data["Xmp.digiKam.TagsList"] == ["People/Ann Smith"]


def test_a_digikam_sidecar_keeps_everything_photosense_does_not_own(cli, named):
    side = named["photo"].with_name("IMG_0042.jpg.xmp")
    side.write_text(DIGIKAM)
    side.chmod(0o644)

    cli("xmp", "write", "--keywords")

    data = read(side)
    assert data["Xmp.xmp.Rating"] == "4" and data["Xmp.xmp.Label"] == "Red"
    assert data["Xmp.digiKam.TagsList"] == ["Places/Paris", "People/Ann Lee"]
    assert data["Xmp.dc.subject"] == ["Paris", "Ann Lee"]
    assert sorted(regions(data)) == ["Ann Lee", "Eiffel Tower"]
    assert stat.S_IMODE(side.stat().st_mode) == 0o644  # an existing file keeps its mode
    cli("people", "rename", named["ann"], "Ann Smith")
    cli("xmp", "write")  # without --keywords: photosense's keywords go, the others stay
    data = read(side)
    assert data["Xmp.digiKam.TagsList"] == ["Places/Paris"]
    assert data["Xmp.dc.subject"] == ["Paris"]
    assert sorted(regions(data)) == ["Ann Smith", "Eiffel Tower"]


def test_a_lightroom_sidecar_is_updated_where_it_is(cli, named):
    side = named["photo"].with_suffix(".xmp")
    side.write_text(LIGHTROOM)

    r = cli.json("xmp", "write", "--keywords")

    assert r["written"] == [str(side)] and not named["photo"].with_name("IMG_0042.jpg.xmp").exists()
    data = read(side)
    assert data["Xmp.crs.Exposure2012"] == "+0.35" and data["Xmp.crs.WhiteBalance"] == "As Shot"
    assert data["Xmp.lr.hierarchicalSubject"] == ["Trips|Norway", "People|Ann Lee"]
    assert "Ann Lee" in regions(data)


def test_stem_names_for_new_sidecars(cli, named):
    cli("xmp", "write", "--sidecar-name", "stem")
    assert named["photo"].with_suffix(".xmp").exists()


def test_regions_follow_mwg_orientation(cli, fake, tmp_path):
    """MWG areas are relative to the stored pixels: an EXIF-rotated photo's regions are
    turned back, and turn upright again exactly as a viewer does."""
    img = Image.open(photo(tmp_path / "src.png", faces=[(0, (0.1, 0.1, 0.25, 0.3))]))
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "pics").mkdir()
    p = tmp_path / "pics" / "r.jpg"
    img.save(p, exif=exif, quality=95)
    cli.import_(tmp_path / "pics")
    face = cli.json("show", p)["faces"][0]
    cli("people", "rename", face["person_id"], "Rot")

    cli("xmp", "write")

    data = read(p.with_name("r.jpg.xmp"))
    stored = regions(data)["Rot"]
    assert data["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"] == "640"  # as stored
    # where the square was drawn in the stored pixels (the fake engine sees at 256 px: ±1.5 %)
    assert all(abs(x - y) <= 0.015 for x, y in zip(stored.as_tuple(), (0.1, 0.1, 0.25, 0.3),
                                                   strict=True))
    assert close(xmp.to_upright(stored, 6), Box(**face["box"]))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_turns_are_inverse(orientation):
    b = Box(0.1, 0.2, 0.3, 0.15)
    assert close(xmp.to_upright(xmp.to_stored(b, orientation), orientation), b)


def test_a_broken_sidecar_fails_alone(cli, named, tmp_path):
    photo(tmp_path / "pics" / "other.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.import_(tmp_path / "pics")
    named["photo"].with_name("IMG_0042.jpg.xmp").write_text("<x:xmpmeta><rdf:RDF")
    r = cli("xmp", "write", "--json", code=1)
    assert "IMG_0042.jpg.xmp: cannot update: not well-formed XML" in r.stderr
    assert len(__import__("json").loads(r.stdout)["written"]) == 1
    assert os.path.exists(tmp_path / "pics" / "other.jpg.xmp")


def test_export_streams_one_record_a_photo_in_both_formats(cli, named, tmp_path):
    import csv
    import io
    import json

    from tests.test_json import valid

    lines = cli("export").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    valid("export", records)
    assert [r["path"] for r in records] == [str(named["photo"])]
    people = {p["name"]: p for p in records[0]["people"]}
    assert people["Ann Lee"]["id"] == named["ann"]
    assert people["Ann Lee"]["box"] == named["faces"][named["ann"]]["box"]
    out = tmp_path / "lib.csv"
    r = cli("export", "--format", "csv", "--out", out)
    assert r.stderr == f"exported 1 photos to {out}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["path"] == str(named["photo"]) and "Ann Lee" in rows[0]["people"]


def test_the_catalogue_opens_in_sqlite_utils(cli, fake, named, tmp_path):
    import sqlite_utils

    photo(tmp_path / "more" / "sign.jpg", texts=[(1, (0.3, 0.65, 0.4, 0.2))])
    cli.import_(tmp_path / "more")
    db = sqlite_utils.Database(cli.library)
    assert db["text_lines"].detect_fts() == "text_lines_fts"
    assert [r["text"] for r in db["text_lines"].search("exit")] == ["EXIT"]
    views = set(db.view_names())
    assert {"photo_people", "person_summary"} <= views
    assert {r["person"] for r in db["photo_people"].rows} == {"Ann Lee", *{
        p["label"] for p in cli.json("people", "--all") if not p["named"]}}
    for view in views:
        assert "descriptor" not in db[view].columns_dict
    summary = {r["name"]: r for r in db["person_summary"].rows}
    assert summary["Ann Lee"]["faces"] == 1


def with_regions(path, names_boxes, orientation=1, mp=False, people=()):
    """A photo's sidecar as another tool wrote it: MWG (or MP) regions, PersonInImage."""
    entries = [xmp.FaceEntry(0, n, b) for n, b in names_boxes]
    data = xmp.render(None, entries, width=640, height=480, orientation=orientation)
    text = data.decode().replace(' photosense:FaceId="0"', "")  # no photosense mark: theirs
    text = text.replace("<photosense:People>", "<photosense:Ignore>").replace(
        "</photosense:People>", "</photosense:Ignore>")
    if mp:  # only Microsoft regions
        start, end = text.index("<mwg-rs:Regions"), text.index("</mwg-rs:Regions>") + 17
        text = text[:start] + text[end:]
    path.with_name(path.name + ".xmp").write_text(text)


def test_a_name_another_tool_wrote_names_the_person(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    p = photo(pics / "rose.jpg", faces=[(0, BOX), (1, BOX2)])
    # a region a little looser than the detector's box, as people draw them
    with_regions(p, [("Rose Leslie", Box(0.08, 0.08, 0.3, 0.35))])
    q = photo(pics / "kit.jpg", faces=[(1, BOX)], size=(600, 400))
    with_regions(q, [("Kit Harington", Box(0.1, 0.1, 0.25, 0.3))], mp=True)

    s = cli.import_(pics)

    assert s["files"]["ignored"] == 0  # sidecars are no "other files"
    named = {p["name"]: p for p in cli.json("people", "--named")}
    assert set(named) == {"Rose Leslie", "Kit Harington"}
    rose = cli.json("people", "show", "Rose Leslie")
    assert rose["name_source"] == f"xmp:{p}.xmp"
    assert cli.json("people", "show", "Kit Harington")["faces"][0]["photo_id"] in {
        f["photo_id"] for f in cli.json("people", "show", "Kit Harington")["faces"]}
    assert len(cli.json("people", "show", "Kit Harington")["faces"]) == 2  # both photos
    assert cli.json("history")[0]["kind"] == "xmp-names"

    cli("undo")  # one change for the whole import
    assert cli.json("people", "--named") == []


def test_a_region_over_no_face_is_kept_and_names_never_overwrite(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    p = photo(pics / "a.jpg", faces=[(0, BOX)])
    cli.import_(pics)
    cli("people", "rename", cli.json("people", "--all")[0]["id"], "Ann")
    q = photo(pics / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    with_regions(q, [("Annie", Box(0.1, 0.1, 0.25, 0.3)), ("Nobody", Box(0.7, 0.7, 0.2, 0.2))])

    cli.import_(pics)

    ann = cli.json("people", "show", "Ann")
    assert ann["name_hints"] == [{"name": "Annie", "source": f"xmp:{q}.xmp"}]
    assert ann["name_source"] == "typed"
    shown = cli.json("show", q)
    assert [r["name"] for r in shown["regions"]] == ["Nobody"]
    assert "named in metadata: Nobody" in cli("show", q).stdout
    assert p.exists()


def test_no_xmp_reads_no_names(cli, fake, tmp_path):
    p = photo(tmp_path / "pics" / "rose.jpg", faces=[(0, BOX)])
    with_regions(p, [("Rose Leslie", Box(0.1, 0.1, 0.25, 0.3))])
    cli.import_(tmp_path / "pics", extra=["--no-xmp"])
    assert cli.json("people", "--named") == []


def test_regions_written_by_photosense_read_back_the_same(tmp_path):
    src = photo(tmp_path / "r.jpg", faces=[(0, BOX)])
    box = Box(0.6, 0.1, 0.3, 0.25)  # upright coordinates of a photo stored turned (6)
    (tmp_path / "r.jpg.xmp").write_bytes(
        xmp.render(None, [xmp.FaceEntry(3, "Rot", box)], width=480, height=640, orientation=6))
    found, problems, _ = xmp.read_metadata(src, orientation=6)
    assert problems == []
    assert [r.name for r in found] == ["Rot"] and close(found[0].box, box)


def test_names_inside_the_photo_itself_count_too(cli, fake, tmp_path):
    """XMP in the JPEG's APP1 segment, where cameras and digiKam put it (checked with exiv2)."""
    import struct

    p = photo(tmp_path / "pics" / "inside.jpg", faces=[(0, BOX)])
    packet = xmp.render(None, [xmp.FaceEntry(0, "Rose Leslie", Box(*BOX))], width=640,
                        height=480).replace(b' photosense:FaceId="0"', b"")
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    data = p.read_bytes()
    p.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
                  + data[2:])
    assert read(p)["Xmp.iptcExt.PersonInImage"] == ["Rose Leslie"]  # exiv2 finds it there

    cli.import_(tmp_path / "pics")

    rose = cli.json("people", "show", "Rose Leslie")
    assert rose["name_source"] == f"xmp:{p}" and len(rose["faces"]) == 1


def test_write_for_chosen_people_only(cli, named, tmp_path):
    photo(tmp_path / "more" / "b.jpg", faces=[(1, BOX)], size=(600, 400))
    cli.import_(tmp_path / "more")
    other = next(p for p in named["faces"] if p != named["ann"])
    cli("people", "rename", other, "Bob")

    r = cli.json("xmp", "write", "--person", "Bob")

    assert sorted(os.path.basename(w) for w in r["written"]) == ["IMG_0042.jpg.xmp", "b.jpg.xmp"]
    r = cli.json("xmp", "write", tmp_path / "more")
    assert r["unchanged"] == [str(tmp_path / "more" / "b.jpg.xmp")] and r["written"] == []


def test_a_face_another_tool_named_is_not_written_twice(cli, fake, tmp_path):
    """digiKam drew Ann's region; photosense knows her face there by that name: writing
    adds no second MWG region for it (digiKam would show two), only what is missing."""
    pics = tmp_path / "pics"
    p = photo(pics / "a.jpg", faces=[(0, BOX), (1, BOX2)])
    with_regions(p, [("Ann Lee", Box(0.09, 0.09, 0.27, 0.32))])  # theirs, MWG only
    side = p.with_name("a.jpg.xmp")
    cli.import_(pics)  # their name names the person
    bob = next(x for x in cli.json("people", "--all") if x["name"] is None)["id"]
    cli("people", "rename", bob, "Bob")
    before = side.read_bytes()

    cli.json("xmp", "write")

    names = [n for n, _ in all_regions(read(side))]
    assert sorted(names) == ["Ann Lee", "Bob"]  # Ann once (theirs), Bob added (ours)
    data = read(side)
    mp = [data.get(f"Xmp.MP.RegionInfo/MPRI:Regions[{i}]/MPReg:PersonDisplayName")
          for i in (1, 2, 3)]
    assert sorted(n for n in mp if n) == ["Ann Lee", "Bob"]  # no MP region of theirs: ours
    cli("people", "rename", bob, "Robert")
    cli.json("xmp", "write")
    assert sorted(n for n, _ in all_regions(read(side))) == ["Ann Lee", "Robert"]
    assert before.decode().split("<mwg-rs:RegionList>")[1].split("</rdf:li>")[0] in \
        side.read_text()  # their region, byte for byte
