"""Never destroy what is not ours (issue 16): outputs, sidecars and folders under hostile or
unlucky input, through the CLI. Each test names the class of problem it holds shut."""

import csv
import io
import os
import shutil
import stat
import subprocess

import pytest

from photosense_cli import xmp
from photosense_cli.records import Box
from tests.conftest import BOX, BOX2, TEXT_BOX, Cli, photo

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None,
                                    reason="exiftool is not installed (.ci/run installs it)")


@pytest.fixture
def pics(cli, tmp_path):
    """Two photos, two people; the first is named Ann Lee."""
    pics = tmp_path / "pics"
    a = photo(pics / "a.jpg", faces=[(0, BOX), (1, BOX2)], texts=[(0, TEXT_BOX)])
    photo(pics / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.import_(pics)
    ann = next(f["person_id"] for f in cli.json("show", a)["faces"] if f["box"]["left"] < 0.3)
    cli("people", "rename", ann, "Ann Lee")
    return pics


def unnamed_id(cli) -> int:
    return next(p["id"] for p in cli.json("people", "--all") if p["name"] != "Ann Lee")


def library_intact(cli) -> None:
    s = cli.json("status")
    assert s["photos"] == 2 and s["named_people"] == 1
    assert cli.json("people", "show", "Ann Lee")["faces"]


# -- 1. an output path never reaches the library or a photo -------------------------


def test_export_onto_the_library_is_refused_before_a_byte_is_read(cli, pics):
    r = cli("export", "--out", cli.library, code=2)
    assert r.stderr == f"photosense: {cli.library}: this is the library's own file; not written\n"
    assert cli.library.stat().st_size > 0
    library_intact(cli)


def test_a_sheet_named_like_the_library_is_refused_for_what_it_is(cli, pics):
    r = cli("people", "show", "Ann Lee", "--sheet", cli.library, code=2)
    assert r.stderr == f"photosense: {cli.library}: this is the library's own file; not written\n"
    assert "wrote" not in r.stdout + r.stderr
    library_intact(cli)


@pytest.mark.parametrize("name", ["library.db", "library.db-wal", "library.db-shm",
                                  "library.db.lock"])
def test_a_sheet_through_a_symlink_to_the_library_or_its_companions_is_refused(cli, pics, tmp_path,
                                                                              name):
    link = tmp_path / "sheet.png"
    link.symlink_to(cli.library.with_name(name))
    r = cli("people", "show", "Ann Lee", "--sheet", link, code=2)
    assert r.stderr == f"photosense: {link}: this is the library's own file; not written\n"
    assert link.is_symlink()
    library_intact(cli)


def test_a_hard_link_to_the_library_is_refused(cli, pics, tmp_path):
    twin = tmp_path / "twin.csv"
    os.link(cli.library, twin)
    r = cli("export", "--format", "csv", "--out", twin, code=2)
    assert "this is the library's own file" in r.stderr
    library_intact(cli)


def test_outputs_never_replace_a_photo_of_the_library(cli, pics, tmp_path):
    a = pics / "a.jpg"
    before = a.read_bytes()
    r = cli("export", "--out", a, code=2)
    assert r.stderr == (f"photosense: {a}: this is a photo of the library; photosense never "
                        "replaces a photo\n")
    # a copy of a photo somewhere else is that photo too (its content is catalogued)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(before)
    r = cli("people", "show", "Ann Lee", "--sheet", copy, code=2)
    assert "a copy of a photo of the library" in r.stderr
    assert a.read_bytes() == before and copy.read_bytes() == before


def test_crops_never_replace_a_photo_in_their_folder(cli, pics, tmp_path):
    ann = cli.json("people", "show", "Ann Lee")
    crops = tmp_path / "crops"
    crops.mkdir()
    victim = crops / f"face-{ann['faces'][0]['id']}.jpg"
    shutil.copy(pics / "b.jpg", victim)  # a photo that happens to carry a crop's name
    cli.import_(crops)
    before = victim.read_bytes()
    r = cli("people", "faces", "Ann Lee", "--out", crops, code=2)
    assert "this is a photo of the library" in r.stderr
    assert victim.read_bytes() == before


# -- 2. a replaced output is private, and whole or not at all ------------------------


def test_an_export_over_a_loose_file_is_private_afterwards(cli, pics, tmp_path):
    out = tmp_path / "pre.txt"
    out.write_text("old")
    out.chmod(0o644)
    cli("export", "--out", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().count("\n") == 2


def test_an_export_that_fails_halfway_leaves_the_old_file_and_names_it(cli, pics, tmp_path,
                                                                       monkeypatch):
    from photosense_cli import interop

    out = tmp_path / "keep.jsonl"
    out.write_text("yesterday's export\n")
    real = interop.export_records

    def full_disk(*args, **kw):
        yield from list(real(*args, **kw))[:1]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(interop, "export_records", full_disk)
    r = cli("export", "--out", out, code=2)
    assert r.stderr == f"photosense: {out}: cannot write: No space left on device\n"
    assert out.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_an_output_onto_a_device_or_folder_is_one_line(cli, pics, tmp_path):
    r = cli("export", "--out", "/dev/null", code=2)
    assert r.stderr == "photosense: /dev/null: not a regular file; name a file to write\n"
    r = cli("export", "--out", tmp_path, code=2)
    assert r.stderr == f"photosense: {tmp_path}: a folder; name a file to write\n"


# -- 3. other tools' metadata is never ours ------------------------------------------


def exiftool_sidecar(path, *args) -> bytes:
    subprocess.run(["exiftool", "-q", *args, str(path)], check=True)
    return path.read_bytes()


OBAMA = ["-XMP-iptcExt:PersonInImage=Barack Obama", "-XMP-dc:Subject=Barack Obama",
         "-XMP-dc:Subject=Holiday", "-XMP-lr:HierarchicalSubject=People|Barack Obama",
         "-XMP-digiKam:TagsList=People/Barack Obama", "-XMP-xmp:Rating=4"]


def exif_list(path, tag) -> list[str]:
    out = subprocess.run(["exiftool", "-s3", "-sep", "##", f"-{tag}", str(path)], check=True,
                         capture_output=True, text=True).stdout.strip()
    return out.split("##") if out else []


@needs_exiftool
def test_a_rename_never_removes_the_users_own_names_and_keywords(cli, pics):
    side = pics / "a.jpg.xmp"
    original = exiftool_sidecar(side, *OBAMA)
    cli("people", "rename", "Ann Lee", "Barack Obama")
    cli("xmp", "write", "--keywords")
    assert exif_list(side, "PersonInImage") == ["Barack Obama"]  # there already: not added
    cli("people", "rename", "Barack Obama", "Barack H. Obama")
    cli("xmp", "write", "--keywords")

    assert exif_list(side, "PersonInImage") == ["Barack Obama", "Barack H. Obama"]
    assert exif_list(side, "Subject") == ["Barack Obama", "Holiday", "Barack H. Obama"]
    assert exif_list(side, "HierarchicalSubject") == ["People|Barack Obama",
                                                      "People|Barack H. Obama"]
    assert exif_list(side, "TagsList") == ["People/Barack Obama", "People/Barack H. Obama"]
    assert exif_list(side, "Rating") == ["4"]
    assert exif_list(side, "RegionName") == ["Barack H. Obama"]

    # photosense takes back exactly what it added: the exiftool file comes back byte for byte
    cli("undo")
    cli("undo")
    cli("people", "hide", "Ann Lee")
    r = cli.json("xmp", "write", "--keywords")
    assert str(side) in r["written"]
    assert side.read_bytes() == original


@needs_exiftool
def test_regions_join_an_exiftool_region_list_which_exiftool_still_reads(cli, pics):
    side = pics / "a.jpg.xmp"
    exiftool_sidecar(side, "-XMP-mwg-rs:RegionName=Eiffel Tower", "-XMP-mwg-rs:RegionType=Focus",
                     "-XMP-mwg-rs:RegionAreaX=0.8", "-XMP-mwg-rs:RegionAreaY=0.2",
                     "-XMP-mwg-rs:RegionAreaW=0.1", "-XMP-mwg-rs:RegionAreaH=0.3",
                     "-XMP-mwg-rs:RegionAreaUnit=normalized")
    cli("xmp", "write")
    assert exif_list(side, "RegionName") == ["Eiffel Tower", "Ann Lee"]
    assert exif_list(side, "RegionType") == ["Focus", "Face"]
    assert side.read_bytes().count(b"<mwg-rs:Regions") == 1


def test_a_lightroom_sidecar_outside_our_part_is_untouched_byte_for_byte(cli, pics):
    from tests.test_xmp import LIGHTROOM

    side = pics / "a.xmp"
    side.write_text(LIGHTROOM)
    cli("xmp", "write", "--keywords")
    data = side.read_bytes()
    assert b"Ann Lee" in data
    assert data.startswith(LIGHTROOM[:LIGHTROOM.index("<lr:hierarchicalSubject>")].encode())
    cli("people", "hide", "Ann Lee")
    cli("xmp", "write", "--keywords")
    assert side.read_text() == LIGHTROOM


# -- 4. sidecar bytes depend on nothing but the sidecar and the library --------------


OWN_PREFIXES = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:regions="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:ps="https://photosense.invalid/ns/1.0/"
    xmlns:iptc="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">
   <iptc:PersonInImage><rdf:Bag><rdf:li>Someone</rdf:li></rdf:Bag></iptc:PersonInImage>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_one_sidecars_prefixes_never_change_another_sidecar(cli, pics):
    cli("people", "rename", unnamed_id(cli), "Bo")
    alone = pics / "b.jpg.xmp"
    cli("xmp", "write", pics / "b.jpg")
    expected = alone.read_bytes()
    alone.unlink()
    (pics / "a.jpg.xmp").write_text(OWN_PREFIXES)  # read first in a full run

    cli("xmp", "write")

    assert alone.read_bytes() == expected
    own = (pics / "a.jpg.xmp").read_text()
    # the document's own prefixes are used for what is added to it
    assert "<regions:Regions" in own and "ps:FaceId=" in own and "<iptc:PersonInImage>" in own
    assert "ns0:" not in own and "ns1:" not in own and "mwg-rs:" not in own
    assert own.count("<iptc:PersonInImage>") == 1


def test_render_is_the_same_for_the_same_input_and_idempotent():
    entries = [xmp.FaceEntry(1, "Ann", Box(0.1, 0.1, 0.2, 0.2)),
               xmp.FaceEntry(2, None, Box(0.5, 0.5, 0.2, 0.2))]
    for doc in (None, OWN_PREFIXES.encode()):
        once = xmp.render(doc, entries, width=640, height=480, keywords=True)
        assert xmp.render(doc, entries, width=640, height=480, keywords=True) == once
        assert xmp.render(once, entries, width=640, height=480, keywords=True) is once


# -- 5. untrusted files are read within bounds ---------------------------------------


def test_a_sidecar_linked_to_dev_zero_is_never_read(cli, fake, tmp_path):
    pics = tmp_path / "hostile"
    p = photo(pics / "x.jpg", faces=[(0, BOX)])
    (pics / "x.jpg.xmp").symlink_to("/dev/zero")
    r = cli.json("import", pics, "--engine", "fake", code=1)
    assert r["files"]["new"] == 1  # the photo is imported all the same
    assert r["errors"] == [{"path": f"{p}.xmp", "reason": "not a regular file; not read"}]
    r = cli("xmp", "write", "--include-unnamed", code=1)
    assert f"photosense: {p}.xmp: cannot update: a symbolic link; not followed" in r.stderr


def test_an_ignore_file_linked_to_dev_zero_is_never_read(cli, fake, tmp_path):
    pics = tmp_path / "ignored"
    photo(pics / "x.jpg", faces=[(0, BOX)])
    (pics / ".photosenseignore").symlink_to("/dev/zero")
    r = cli.json("import", pics, "--engine", "fake", code=1)
    assert r["files"]["new"] == 1
    assert r["errors"] == [{"path": str(pics / ".photosenseignore"),
                            "reason": "not a regular file; not read"}]


def test_a_fifo_sidecar_does_not_hang_the_import(cli, fake, tmp_path):
    pics = tmp_path / "fifo"
    p = photo(pics / "x.jpg", faces=[(0, BOX)])
    os.mkfifo(pics / "x.xmp")
    r = cli.json("import", pics, "--engine", "fake", code=1)
    assert r["errors"] == [{"path": str(p.with_suffix(".xmp")),
                            "reason": "not a regular file; not read"}]


def test_an_oversized_sidecar_is_refused_and_left_as_it_is(cli, fake, tmp_path):
    pics = tmp_path / "big"
    p = photo(pics / "x.jpg", faces=[(0, BOX)])
    side = pics / "x.jpg.xmp"
    side.write_bytes(xmp.EMPTY.replace(b"<rdf:Description", b"<!-- " + b"x" * (5 << 20)
                                       + b" --><rdf:Description"))
    before = side.read_bytes()
    r = cli.json("import", pics, "--engine", "fake", code=1)
    assert r["files"]["new"] == 1
    assert r["errors"][0]["path"] == str(side)
    assert "over the 4,194,304-byte limit of a sidecar; not read" in r["errors"][0]["reason"]
    cli("people", "rename", cli.json("people", "--all")[0]["id"], "Zed")
    assert "over the 4,194,304-byte limit" in cli("xmp", "write", code=1).stderr
    assert side.read_bytes() == before
    assert p.exists()


def regions_doc(*regions: tuple[str, str]) -> str:
    """A digiKam-style sidecar with MWG face regions (name, 'x y w h' centre-based)."""
    items = "".join(
        f'<rdf:li><rdf:Description mwg-rs:Name="{n}" mwg-rs:Type="Face"><mwg-rs:Area '
        + " ".join(f'stArea:{k}="{v}"' for k, v in zip("xywh", a.split(), strict=True))
        + ' stArea:unit="normalized"/></rdf:Description></rdf:li>' for n, a in regions)
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
            'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"><mwg-rs:Regions '
            f'rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>{items}</rdf:Bag>'
            "</mwg-rs:RegionList></mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>")


def test_huge_names_and_impossible_boxes_are_refused_with_one_line(cli, fake, tmp_path):
    pics = tmp_path / "odd"
    p = photo(pics / "x.jpg", faces=[(0, BOX), (1, BOX2)])
    centre = f"{BOX[0] + BOX[2] / 2} {BOX[1] + BOX[3] / 2} {BOX[2]} {BOX[3]}"
    centre2 = f"{BOX2[0] + BOX2[2] / 2} {BOX2[1] + BOX2[3] / 2} {BOX2[2]} {BOX2[3]}"
    (pics / "x.jpg.xmp").write_text(regions_doc(
        ("N" * 1_000_000, centre), ("Minus", "0.5 0.5 -0.2 0.3"), ("Huge", "0.5 0.5 40 0.3"),
        ("Nan", "nan 0.5 0.1 0.1"), ("Beep\u009b2J", centre2), ("Kit", centre2)))
    r = cli.json("import", pics, "--engine", "fake", code=1)

    assert r["files"]["new"] == 1
    [error] = r["errors"]  # one line for the file, however many problems it has
    assert error["path"] == f"{p}.xmp"
    assert error["reason"].startswith("name 'NNNNNNNNNN")
    assert "at most 200 characters (this one has 1000000)" in error["reason"]
    assert error["reason"].endswith("(and 4 more)") and len(error["reason"]) < 300
    assert [x["name"] for x in cli.json("people", "--named")] == ["Kit"]
    assert cli.json("show", p)["regions"] == []


def test_a_sidecar_with_a_dtd_is_never_expanded(cli, fake, tmp_path):
    pics = tmp_path / "laughs"
    p = photo(pics / "x.jpg", faces=[(0, BOX)])
    lol = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
           + "".join(f'<!ENTITY {c} "{("&" + p_ + ";") * 10}">' for c, p_ in
                     zip("bcdefghij", "abcdefghi", strict=True))
           + ']><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
           'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           'rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
           "<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>&j;</rdf:li></rdf:Bag>"
           "</Iptc4xmpExt:PersonInImage></rdf:Description></rdf:RDF></x:xmpmeta>")
    (pics / "x.jpg.xmp").write_text(lol)
    r = cli.json("import", pics, "--engine", "fake", code=1)
    # the DTD sits outside the XMP packet and is never read: the entity stays undefined
    assert r["errors"] == [{"path": f"{p}.xmp", "reason": "not well-formed XML (undefined "
                            "entity, line 1); its names are not read"}]
    assert cli.json("people", "--named") == []


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE x [<!ENTITY a "aa">]><x>&a;</x>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]><x/>',
])
def test_the_xml_reader_refuses_any_dtd(doc):
    from photosense_cli import xmltree

    with pytest.raises(xmltree.XmlError, match="DTD"):
        xmltree.parse(doc)


def test_a_typed_name_is_bounded_too(cli, pics):
    r = cli("people", "rename", "Ann Lee", "x" * 5000, code=2)
    assert r.stderr == "photosense: a name is at most 200 characters (this one has 5000)\n"
    r = cli("people", "rename", "Ann Lee", "Ann\x1b]0;pwned\x07", code=2)
    assert "control characters" in r.stderr


# -- 6. two photos never share one sidecar -------------------------------------------


def test_two_photos_one_stem_sidecar_is_refused_and_never_crosses_names(cli, fake, tmp_path):
    pics = tmp_path / "same"
    jpg = photo(pics / "same.jpg", faces=[(0, BOX)])
    png = photo(pics / "same.png", faces=[(1, BOX)])
    cli.import_(pics)
    for f in (jpg, png):
        pid = cli.json("show", f)["faces"][0]["person_id"]
        cli("people", "rename", pid, "Obama" if f == jpg else "Kit")

    r = cli.json("xmp", "write", "--sidecar-name", "stem", code=1)

    assert r["written"] == [] and [f["path"] for f in r["failed"]] == [str(pics / "same.xmp")]
    assert "would belong to same.jpg and same.png alike; not written" in r["failed"][0]["reason"]
    assert not (pics / "same.xmp").exists()
    # the dotted names are one photo each
    assert len(cli.json("xmp", "write")["written"]) == 2

    # a shared sidecar someone else wrote never names the wrong photo's person
    (pics / "same.xmp").write_bytes(xmp.render(None, [xmp.FaceEntry(9, "Kit", Box(*BOX))],
                                               width=640, height=480))
    for side in pics.glob("*.*.xmp"):
        side.unlink()
    fresh = Cli(tmp_path / "fresh.db")
    r = fresh.import_(pics, code=1)
    assert {e["path"] for e in r["errors"]} == {str(pics / "same.xmp")}
    assert "belongs to same.jpg and same.png alike; its names are not read" in r["errors"][0][
        "reason"]
    assert fresh.json("people", "--named") == []


# -- 7. made-up names never come back as names ---------------------------------------


def test_unnamed_regions_carry_no_name_and_placeholders_are_not_read(cli, fake, pics, tmp_path):
    r = cli.json("xmp", "write", "--include-unnamed")
    assert len(r["written"]) == 2
    for side in pics.glob("*.xmp"):
        assert b"Unknown person" not in side.read_bytes()
    fresh = Cli(tmp_path / "fresh.db")
    fresh.import_(pics)
    assert [p["name"] for p in fresh.json("people", "--named")] == ["Ann Lee"]
    assert len(fresh.json("people", "--all")) == 2

    # a sidecar round two wrote, with the placeholder as a region name
    old = (pics / "a.jpg.xmp").read_text().replace(
        '<rdf:Description mwg-rs:Type="Face"',
        '<rdf:Description mwg-rs:Name="Unknown person 4" mwg-rs:Type="Face"')
    assert old.count("Unknown person 4") == 1
    (pics / "a.jpg.xmp").write_text(old)
    again = Cli(tmp_path / "again.db")
    again.import_(pics)
    assert [p["name"] for p in again.json("people", "--named")] == ["Ann Lee"]


# -- 8. forgetting a folder forgets that folder --------------------------------------


def test_forgetting_a_folder_keeps_a_photo_that_lives_elsewhere(cli, fake, pics, tmp_path):
    more = tmp_path / "more"
    more.mkdir()
    shutil.copy(pics / "a.jpg", more / "copy-of-a.jpg")
    photo(more / "own.jpg", faces=[(2, BOX)])
    cli.import_(more)

    r = cli("forget", more, "--yes", "--json")
    out = __import__("json").loads(r.stdout)
    assert out["photos"] == 1 and out["kept_photos"] == 1
    assert out["paths_forgotten"] == [str(more / "copy-of-a.jpg")]
    assert cli.json("show", pics / "a.jpg")["paths"] == [str(pics / "a.jpg")]
    assert len(cli.json("people", "show", "Ann Lee")["faces"]) == 2  # a.jpg and b.jpg
    r = cli("forget", more, "--yes", code=2)  # nothing of the library is there any more

    s = cli.import_(pics, more)
    assert s["files"]["forgotten"] == 2 and s["files"]["new"] == 0  # both skipped, by content
    assert s["files"]["skipped"] == 2  # a.jpg and b.jpg, as before: never forgotten
    assert len(cli.json("people", "show", "Ann Lee")["faces"]) == 2

    cli("undo")
    assert str(more / "copy-of-a.jpg") in cli.json("show", pics / "a.jpg")["paths"]


# -- 9. CSV cells never start a formula ----------------------------------------------


def test_csv_cells_that_would_start_a_formula_are_neutralised(cli, fake, tmp_path):
    fake.texts[3] = ["=HYPERLINK(\"http://x.invalid\",\"click\")"]
    pics = tmp_path / "sign"
    p = photo(pics / "sign.jpg", faces=[(0, BOX)], texts=[(3, TEXT_BOX)])
    cli.import_(pics)
    cli("people", "rename", cli.json("people", "--all")[0]["id"], "@SUM(A1:A9)")

    def cells(*args):
        return list(csv.reader(io.StringIO(cli(*args).stdout)))

    people = cells("people", "--format", "csv")
    assert people[1][people[0].index("name")] == "'@SUM(A1:A9)"
    hits = cells("search", "hyperlink", "--format", "csv")
    assert hits[1][hits[0].index("text")].startswith("'=HYPERLINK(")
    show = cells("people", "show", "@SUM(A1:A9)", "--format", "csv")
    assert show[1][show[0].index("name")] == "'@SUM(A1:A9)"
    export = list(csv.reader(io.StringIO(cli("export", "--format", "csv").stdout)))
    assert export[1][export[0].index("text")].startswith("'=HYPERLINK(")
    # JSON stays exact
    assert cli.json("people", "--all")[0]["name"] == "@SUM(A1:A9)"
    assert cli.json("search", "hyperlink")[0]["text"][0].startswith("=HYPERLINK(")
    assert p.exists()


# -- 11. folders, read-only sidecars, library messages ------------------------------


def test_folders_photosense_makes_are_private_under_any_umask(cli, fake, tmp_path):
    pics = tmp_path / "u"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    old = os.umask(0)
    try:
        lib = tmp_path / "new" / "deeper" / "library.db"
        deep = Cli(lib)
        deep.import_(pics)
        pid = deep.json("people", "--all")[0]["id"]
        deep("people", "faces", pid, "--out", tmp_path / "crops" / "one")
    finally:
        os.umask(old)
    for folder in (tmp_path / "new", lib.parent, tmp_path / "crops", tmp_path / "crops" / "one"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for f in (lib, *(tmp_path / "crops" / "one").iterdir()):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_read_only_sidecar_is_left_as_it_is_with_a_line(cli, pics):
    side = pics / "a.jpg.xmp"
    side.write_text(OWN_PREFIXES)
    side.chmod(0o444)
    r = cli("xmp", "write")
    assert f"photosense: {side}: read-only; left as it is" in r.stderr
    assert side.read_text() == OWN_PREFIXES and stat.S_IMODE(side.stat().st_mode) == 0o444
    assert "1 read-only left as they are" in r.stderr


def test_a_sidecar_takes_its_photos_mode_never_looser(cli, pics):
    (pics / "a.jpg").chmod(0o640)
    (pics / "b.jpg").chmod(0o600)
    cli("people", "rename", unnamed_id(cli), "Bo")
    loose = pics / "b.jpg.xmp"
    loose.write_text(OWN_PREFIXES)
    loose.chmod(0o666)
    cli("xmp", "write")
    assert stat.S_IMODE((pics / "a.jpg.xmp").stat().st_mode) == 0o640
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


def test_a_broken_raw_file_is_one_line_without_a_python_repr(cli, fake, tmp_path):
    pics = tmp_path / "raw"
    pics.mkdir()
    (pics / "broken.nef").write_bytes(b"II*\x00" + b"\x00" * 400)
    r = cli.json("import", pics, "--engine", "fake", code=1)
    [error] = r["errors"]
    assert "b'" not in error["reason"] and "\\x" not in error["reason"]
    assert error["reason"].startswith("cannot decode")
