"""The optional copy of originals to S3, against moto."""

import boto3
import pytest
from moto import mock_aws

from photosense_cli.catalogue import Catalogue
from photosense_cli.pipeline.importjob import Importer
from photosense_cli.storage import S3Copy
from tests.conftest import BOX, photo


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="my-photos")
        yield client


def test_new_originals_are_copied_byte_for_byte_under_the_design_key(s3, fake, tmp_path):
    a = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    photo(tmp_path / "pics" / "b.png", faces=[(1, BOX)])
    cat = Catalogue(tmp_path / "lib.db")
    lib = cat.get_meta("library_id")
    copy = S3Copy(s3, "my-photos", "/backup/", lib)

    s = Importer(cat, fake, threads=4, uploader=copy).run([str(tmp_path / "pics")])

    assert s.new == 2
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="my-photos")["Contents"])
    shas = dict(cat.conn.execute("SELECT format, sha256 FROM photos").fetchall())
    assert keys == sorted([f"backup/photos/{lib}/{shas['JPEG']}.jpg",
                           f"backup/photos/{lib}/{shas['PNG']}.png"])
    body = s3.get_object(Bucket="my-photos", Key=f"backup/photos/{lib}/{shas['JPEG']}.jpg")["Body"]
    assert body.read() == a.read_bytes()


def test_a_failed_copy_fails_that_photo_before_any_engine_call(s3, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cat = Catalogue(tmp_path / "lib.db")
    copy = S3Copy(s3, "no-such-bucket", "", cat.get_meta("library_id"))

    s = Importer(cat, fake, threads=4, uploader=copy).run([str(tmp_path / "pics")])

    assert s.failed == 1 and "S3 copy failed" in s.errors[0]["reason"]
    assert "NoSuchBucket" in s.errors[0]["reason"]
    assert fake.calls["IndexFaces"] == 0


def test_a_cloud_false_folder_is_not_copied(s3, fake, tmp_path):
    from photosense_cli.policy import FolderRule, FolderRules
    from photosense_cli.requests import ImportRequest

    photo(tmp_path / "pics" / "kids" / "k.jpg", faces=[(0, BOX)])
    photo(tmp_path / "pics" / "a.jpg", faces=[(1, BOX)], size=(600, 480))
    cat = Catalogue(tmp_path / "lib.db")
    copy = S3Copy(s3, "my-photos", "", cat.get_meta("library_id"))
    rules = FolderRules((FolderRule(str(tmp_path / "pics" / "kids"), cloud=False),))
    req = ImportRequest(paths=[], folders=rules)

    s = Importer(cat, fake, req, threads=4, uploader=copy).run([str(tmp_path / "pics")])

    assert s.new == 2 and s.kept_back["no-cloud"] == 1
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="my-photos")["Contents"]]
    sha = cat.scalar("SELECT sha256 FROM photos WHERE protection IS NULL")
    assert keys == [f"photos/{cat.get_meta('library_id')}/{sha}.jpg"]
