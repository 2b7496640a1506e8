"""Amazon Rekognition, as the original PhotoSense design used it.

IndexFaces into one collection per library, DetectText keeping LINE detections
above 80, SearchFaces at 90 % to cluster. Image bytes travel in the request, so
Rekognition never needs access to the user's storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    import botocore.exceptions
# boto3 and botocore load inside the functions that use them: ~200 ms that `photosense
# status` on a Rekognition library (which reads this class's prices) must not pay.

from photosense_cli.engines.base import (
    TEXT_MIN_CONFIDENCE,
    Associated,
    Box,
    DetectedFace,
    EngineOptions,
    KnownFace,
    Match,
    TextLine,
    Usage,
    UserMatch,
)
from photosense_cli.engines.timing import timed
from photosense_cli.errors import CollectionMissing, EngineError, ItemFailed, Throttled
from photosense_cli.pacing import Pacers, retrying

# Errors that will fail every photo the same way: stop the run instead of reporting each file.
_FATAL = {
    "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
    "ExpiredTokenException", "ExpiredToken", "ResourceNotFoundException",
    "InvalidClientTokenId",
}


def make_client(profile: str | None, region: str | None, workers: int):
    import boto3
    import botocore.config
    import botocore.exceptions
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound as e:
        raise EngineError(str(e)) from None
    if session.get_credentials() is None:
        raise EngineError(
            "no AWS credentials: run 'aws configure' (or set AWS_PROFILE), "
            "or use the offline engine with --engine local"
        )
    config = botocore.config.Config(
        # No retries inside botocore: a throttled call must reach the importer's Pacer,
        # which slows that operation down (botocore's retries would hide the throttle
        # behind up to 20 s of backoff and share one limiter across operations). The
        # Pacer, and _call below for calls outside an import, send failed calls again.
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=max(10, workers * 3),
    )
    try:
        # The endpoint comes from the standard configuration (AWS_ENDPOINT_URL_REKOGNITION).
        return session.client("rekognition", config=config)
    except botocore.exceptions.NoRegionError:
        raise EngineError("no AWS region: pass --region or set AWS_REGION") from None
    except botocore.exceptions.BotoCoreError as e:  # a malformed --region, a bad endpoint URL
        raise EngineError(f"Rekognition: {e}") from None


class RekognitionEngine:
    name = "rekognition"
    min_side = 80
    # An upper bound on photos in flight; the importer's Pacers find the pace the quota
    # allows. A 50 calls/s quota at ~150 ms a call takes ~17 photos in flight (48 photos/s
    # x ~0.35 s a photo); 32 leave room for throttled calls sent again and slow replies
    # (import_bench: 16 workers reached 0.87 of the bound, 32 reached 0.94).
    default_workers = 32
    models_in_processes = False
    parallel_calls = True
    decodes_images = False
    remote_faces = True
    # US East price list, first million images per month: IndexFaces, SearchFaces and
    # DetectText are billed per image processed; ListFaces, DeleteFaces and
    # CreateCollection are free. Face storage ($0.00001 per face-month) is not counted.
    # The user-vector calls: SearchUsers and AssociateFaces are priced with SearchFaces (the
    # price list's group 1); DisassociateFaces is priced the same here, so that estimates
    # err high, since the copy of the price list read for this predates user vectors.
    # CreateUser, DeleteUser and ListUsers are counted free, like the collection's calls.
    prices_usd = {"IndexFaces": 0.001, "SearchFaces": 0.001, "DetectText": 0.001,
                  "SearchUsers": 0.001, "AssociateFaces": 0.001, "DisassociateFaces": 0.001}
    # Not calibrated here (no network): AWS documents 80 as the level below which matches
    # are mostly different people; the user confirms each suggestion anyway.
    suggest_threshold = 80.0
    user_vectors = True
    runs_on_cluster = False

    def __init__(self, client, collection_id: str | None = None, text_tiles: int = 4):
        self.client = client
        # user-vector calls made outside a photo, billed: the sync logs them (take_ledger)
        self.ledger = Usage()
        self.collection_id = collection_id
        self.text_tiles = text_tiles  # bands for a photo that holds 100 words (tiles.py)
        # the pace of calls outside a photo's (collections, ListFaces, DeleteFaces)
        self.housekeeping = Pacers()

    @classmethod
    def create(cls, options: EngineOptions) -> RekognitionEngine:
        return cls(make_client(options.profile, options.region, options.workers),
                   text_tiles=options.text_tiles)

    def open_collection(self, collection_id: str, known: Iterable[KnownFace], *,
                        create: bool = True) -> None:
        self.collection_id = collection_id
        try:
            if not create:
                # DescribeCollection is free; deleted outside photosense, the collection
                # would otherwise be made anew and empty, and every person split in two.
                self._call(None, "DescribeCollection", self.client.describe_collection,
                           CollectionId=collection_id)
                return
            self._call(None, "CreateCollection", self.client.create_collection,
                       CollectionId=collection_id)
        except (EngineError, ItemFailed) as e:
            code = e.service_code
            if not create and code == "ResourceNotFoundException":
                raise CollectionMissing(f"Rekognition collection {collection_id} "
                                        f"({self.client.meta.region_name})") from None
            if code != "ResourceAlreadyExistsException":
                if isinstance(e, ItemFailed):  # no photo to blame: the run cannot start
                    raise EngineError(e.reason) from None
                raise

    def index_faces(self, image: bytes, external_id: str, usage: Usage) -> list[DetectedFace]:
        resp = self._call(usage, "IndexFaces", self.client.index_faces,
                          CollectionId=self.collection_id, Image={"Bytes": image},
                          ExternalImageId=external_id, DetectionAttributes=["DEFAULT"],
                          QualityFilter="AUTO")
        return [
            DetectedFace(r["Face"]["FaceId"], _box(r["Face"]["BoundingBox"]),
                         r["Face"]["Confidence"])
            for r in resp.get("FaceRecords", [])
        ]

    def detect_text(self, image: bytes, usage: Usage) -> list[TextLine]:
        """LINE detections above TEXT_MIN_CONFIDENCE; a photo whose answer holds the
        service's 100 words is read again in bands (tiles.py), each band one more call."""
        from photosense_cli.engines import tiles

        return tiles.read_all(image, lambda photo: self._read_text(photo, usage),
                              self.text_tiles)

    def _read_text(self, image: bytes, usage: Usage) -> tuple[list[TextLine], int]:
        """One DetectText: its lines, and how many words it found (the limit's sign)."""
        resp = self._call(usage, "DetectText", self.client.detect_text, Image={"Bytes": image})
        found = resp.get("TextDetections", [])
        return [
            TextLine(d["DetectedText"], d["Confidence"], _box(d["Geometry"]["BoundingBox"]))
            for d in found
            if d["Type"] == "LINE" and d["Confidence"] > TEXT_MIN_CONFIDENCE
        ], sum(d["Type"] == "WORD" for d in found)

    def search_faces(self, face_id: str, threshold: float, usage: Usage) -> list[Match]:
        resp = self._call(usage, "SearchFaces", self.client.search_faces,
                          CollectionId=self.collection_id, FaceId=face_id,
                          FaceMatchThreshold=threshold, MaxFaces=100)
        return [
            Match(m["Face"]["FaceId"], m["Similarity"])
            for m in resp.get("FaceMatches", [])
            if m["Face"]["FaceId"] != face_id
        ]

    def delete_faces(self, face_ids: list[str]) -> None:
        """Delete faces; one a user holds is taken out of the user and deleted then, since
        the service refuses to delete it (ASSOCIATED_TO_AN_EXISTING_USER) and would keep
        the face that a forget, a reindex or a recovery meant to erase."""
        for i in range(0, len(face_ids), 4096):  # the API's batch limit
            resp = self._call(None, "DeleteFaces", self.client.delete_faces,
                              CollectionId=self.collection_id, FaceIds=face_ids[i : i + 4096])
            held: dict[str, list[str]] = {}
            for refusal in resp.get("UnsuccessfulFaceDeletions", []):
                if ("ASSOCIATED_TO_AN_EXISTING_USER" in refusal.get("Reasons", [])
                        and refusal.get("UserId")):
                    held.setdefault(refusal["UserId"], []).append(refusal["FaceId"])
            for user_id, faces in held.items():
                self.disassociate_faces(user_id, faces)
            if held:
                self._call(None, "DeleteFaces", self.client.delete_faces,
                           CollectionId=self.collection_id,
                           FaceIds=[f for faces in held.values() for f in faces])

    # -- user vectors (uservectors.py keeps them in step with the catalogue) ----------

    def search_users(self, face_id: str, threshold: float, usage: Usage) -> list[UserMatch]:
        resp = self._call(usage, "SearchUsers", self.client.search_users,
                          CollectionId=self.collection_id, FaceId=face_id,
                          UserMatchThreshold=threshold, MaxUsers=10)
        return [UserMatch(m["User"]["UserId"], m["Similarity"])
                for m in resp.get("UserMatches", [])]

    def list_users(self) -> Iterator[str]:
        token: str | None = None
        while True:
            params = {"CollectionId": self.collection_id, "MaxResults": 500}
            if token:
                params["NextToken"] = token
            page = self._call(None, "ListUsers", self.client.list_users, **params)
            for user in page.get("Users", []):
                yield user["UserId"]
            token = page.get("NextToken")
            if not token:
                return

    def create_user(self, user_id: str) -> None:
        try:
            self._billed("CreateUser", self.client.create_user,
                         CollectionId=self.collection_id, UserId=user_id)
        except ItemFailed as e:
            if e.service_code != "ConflictException":  # made already: what was wanted
                raise

    def associate_faces(self, user_id: str, face_ids: list[str]) -> Associated:
        resp = self._billed("AssociateFaces", self.client.associate_faces,
                            CollectionId=self.collection_id, UserId=user_id, FaceIds=face_ids)
        out = Associated([f["FaceId"] for f in resp.get("AssociatedFaces", [])])
        for miss in resp.get("UnsuccessfulFaceAssociations", []):
            if "LOW_MATCH_CONFIDENCE" in miss.get("Reasons", []):
                out.refused.append(miss["FaceId"])
            else:  # FACE_NOT_FOUND, ASSOCIATED_TO_A_DIFFERENT_USER: the next sync sees
                out.failed.append(miss["FaceId"])
        return out

    def disassociate_faces(self, user_id: str, face_ids: list[str]) -> None:
        for i in range(0, len(face_ids), 100):  # the API's batch limit
            try:
                self._billed("DisassociateFaces", self.client.disassociate_faces,
                             CollectionId=self.collection_id, UserId=user_id,
                             FaceIds=face_ids[i : i + 100])
            except EngineError as e:
                if e.service_code != "ResourceNotFoundException":  # no such user: nothing held
                    raise
                return

    def delete_user(self, user_id: str) -> None:
        try:
            self._billed("DeleteUser", self.client.delete_user,
                         CollectionId=self.collection_id, UserId=user_id)
        except EngineError as e:
            if e.service_code != "ResourceNotFoundException":  # gone already
                raise

    def take_ledger(self) -> Usage:
        """The user-vector calls made since the last take, for the call log and the cost."""
        ledger, self.ledger = self.ledger, Usage()
        return ledger

    def collection_counts(self) -> dict[str, int]:
        resp = self._call(None, "DescribeCollection", self.client.describe_collection,
                          CollectionId=self.collection_id)
        return {"faces": resp.get("FaceCount", 0), "users": resp.get("UserCount", 0)}

    def close(self) -> None:
        pass

    def where(self) -> str:
        return f"Amazon Rekognition in {self.client.meta.region_name}"

    def list_faces(self) -> Iterator[tuple[str, str]]:
        token: str | None = None
        while True:  # page by page, each one paced and sent again like any call
            params = {"CollectionId": self.collection_id, "MaxResults": 4096}
            if token:
                params["NextToken"] = token
            page = self._call(None, "ListFaces", self.client.list_faces, **params)
            for face in page.get("Faces", []):
                yield face["FaceId"], face.get("ExternalImageId", "")
            token = page.get("NextToken")
            if not token:
                return

    def _call(self, usage: Usage | None, operation: str, method, **params):
        """One request. A photo's calls (with a Usage) are paced and sent again by the
        importer; housekeeping calls (collections, ListFaces, DeleteFaces) are paced and sent
        again here, by the same rules."""
        if usage is not None:
            with timed(usage, operation):
                return self._request(method, **params)
        return retrying(operation, lambda: self._request(method, **params), self.housekeeping)

    def _billed(self, operation: str, method, **params):
        """A call outside a photo that the cost ledger must see: paced and sent again like
        housekeeping, each attempt timed into the ledger."""
        def once():
            with timed(self.ledger, operation):
                return self._request(method, **params)
        return retrying(operation, once, self.housekeeping)

    def _request(self, method, **params):
        import botocore.exceptions

        try:
            return method(**params)
        except botocore.exceptions.ClientError as e:
            raise _translate(e) from None
        except (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.NoCredentialsError) as e:
            raise EngineError(f"Rekognition: {e}") from None
        except botocore.exceptions.BotoCoreError as e:  # a timeout: this photo, next run
            raise ItemFailed(f"Rekognition: {e}", permanent=False) from None


def _code(e: botocore.exceptions.ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


# Refused for rate: the Pacer slows the operation down and sends the call again.
_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException"}
# Faults of the service, not of the photo: still failing after the retries, the photo
# fails this run but is not remembered as a bad file; the next run tries it again.
_TRANSIENT = {
    "InternalServerError", "ServiceUnavailableException", "LimitExceededException",
    "ServiceQuotaExceededException",
}


def _translate(e: botocore.exceptions.ClientError) -> Exception:
    """The error to raise, carrying the service's code (service_code) for callers that expect one."""
    code, message = _code(e), e.response.get("Error", {}).get("Message", "")
    out: EngineError | ItemFailed
    if code in _FATAL:
        out = EngineError(f"Rekognition refused the request ({code}): {message}")
    elif code in _THROTTLED:
        out = Throttled(f"Rekognition {code}: {message}")
    else:
        out = ItemFailed(f"Rekognition {code}: {message}", permanent=code not in _TRANSIENT)
    out.service_code = code
    return out


def _box(b: dict) -> Box:
    # Rekognition may return boxes slightly outside the image; clamp to the photo.
    left, top = max(0.0, b.get("Left", 0.0)), max(0.0, b.get("Top", 0.0))
    width = min(b.get("Width", 0.0), 1.0 - left)
    height = min(b.get("Height", 0.0), 1.0 - top)
    return Box(left, top, width, height)
