"""Optional copy of each new original to S3, as the original design kept its photos.

Key: PREFIX/photos/<library-id>/<sha256>.<ext>. Content-addressed, so a copy
that already exists is simply written again with the same bytes.
"""

from __future__ import annotations

import boto3
import botocore.exceptions

from photosense_cli.errors import EngineError

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "TIFF": "tif",
              "WEBP": "webp", "HEIF": "heic", "AVIF": "avif"}


class S3Copy:
    def __init__(self, client, bucket: str, prefix: str, library_id: str):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.library_id = library_id

    @classmethod
    def from_config(cls, bucket, prefix, library_id, profile=None, region=None) -> S3Copy:
        try:
            client = boto3.Session(profile_name=profile, region_name=region).client("s3")
        except botocore.exceptions.BotoCoreError as e:
            raise EngineError(f"S3: {e}") from None
        return cls(client, bucket, prefix, library_id)

    def key(self, sha256: str, fmt: str) -> str:
        name = f"photos/{self.library_id}/{sha256}.{EXTENSIONS.get(fmt, 'bin')}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, sha256: str, fmt: str, data: bytes) -> str:
        key = self.key(sha256, fmt)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key
