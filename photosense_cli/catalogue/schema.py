"""The catalogue's schema: migrations appended in order, never edited (as simonw/llm keeps
its own), and the clock every row is stamped with."""

from __future__ import annotations

import datetime as dt
import sqlite3
import struct
from collections.abc import Callable
from typing import Union

# PRAGMA application_id: "PhSe". A file without it (and without photosense's tables)
# is someone else's database and is never written to.
APPLICATION_ID = 0x50685365


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _fix_blob_boxes(conn: sqlite3.Connection) -> None:
    """Round one stored the offline OCR's numpy float32 boxes as 4-byte blobs: make them REALs."""
    for col in ("left", "top", "width", "height"):
        rows = conn.execute(f'SELECT id, "{col}" FROM text_lines WHERE typeof("{col}") = \'blob\'')
        conn.executemany(f'UPDATE text_lines SET "{col}" = ? WHERE id = ?',
                         [(struct.unpack("<f", v)[0] if len(v) == 4 else None, i)
                          for i, v in rows.fetchall()])


Migration = Union[str, Callable[[sqlite3.Connection], None]]


# Migration 16, and what `repair` runs again (after dropping them) to rebuild a photo's
# text and its indexes from the lines: FTS5 'delete' of a row an index lost is an error.
PHOTO_TEXT = """
    CREATE TABLE photo_text (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        text TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE photo_text_fts USING fts5(
        text, content='photo_text', content_rowid='photo_id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE VIRTUAL TABLE photo_text_vocab USING fts5vocab(photo_text_fts, row);
    CREATE TABLE text_words (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
    CREATE VIRTUAL TABLE text_words_tri USING fts5(
        term, content='text_words', content_rowid='id', tokenize='trigram'
    );
    CREATE TRIGGER photo_text_ai AFTER INSERT ON photo_text BEGIN
        INSERT INTO photo_text_fts(rowid, text) VALUES (new.photo_id, new.text);
    END;
    CREATE TRIGGER photo_text_ad AFTER DELETE ON photo_text BEGIN
        INSERT INTO photo_text_fts(photo_text_fts, rowid, text)
            VALUES ('delete', old.photo_id, old.text);
    END;
    CREATE TRIGGER text_words_ai AFTER INSERT ON text_words BEGIN
        INSERT INTO text_words_tri(rowid, term) VALUES (new.id, new.term);
    END;
    CREATE TRIGGER text_words_ad AFTER DELETE ON text_words BEGIN
        INSERT INTO text_words_tri(text_words_tri, rowid, term) VALUES ('delete', old.id, old.term);
    END;
    CREATE TRIGGER text_lines_photo_ai AFTER INSERT ON text_lines BEGIN
        DELETE FROM photo_text WHERE photo_id = new.photo_id;
        INSERT INTO photo_text(photo_id, text) SELECT new.photo_id, group_concat(text, char(10, 57344, 10))
            FROM (SELECT text FROM text_lines WHERE photo_id = new.photo_id ORDER BY id);
    END;
    CREATE TRIGGER text_lines_photo_ad AFTER DELETE ON text_lines BEGIN
        DELETE FROM photo_text WHERE photo_id = old.photo_id;
        INSERT INTO photo_text(photo_id, text) SELECT old.photo_id, group_concat(text, char(10, 57344, 10))
            FROM (SELECT text FROM text_lines WHERE photo_id = old.photo_id ORDER BY id)
            WHERE EXISTS (SELECT 1 FROM photos WHERE id = old.photo_id)
            HAVING count(*) > 0;
    END;
    CREATE TRIGGER text_lines_photo_au AFTER UPDATE OF text, photo_id ON text_lines BEGIN
        DELETE FROM photo_text WHERE photo_id IN (old.photo_id, new.photo_id);
        INSERT INTO photo_text(photo_id, text) SELECT photo_id, group_concat(text, char(10, 57344, 10))
            FROM (SELECT photo_id, text FROM text_lines
                  WHERE photo_id IN (old.photo_id, new.photo_id) ORDER BY id)
            GROUP BY photo_id;
    END;
    INSERT INTO photo_text(photo_id, text) SELECT photo_id, group_concat(text, char(10, 57344, 10))
        FROM (SELECT photo_id, text FROM text_lines ORDER BY photo_id, id) GROUP BY photo_id;
    INSERT INTO text_words(term) SELECT term FROM photo_text_vocab WHERE term != char(57344);
"""
PHOTO_TEXT_OBJECTS = ("TRIGGER text_lines_photo_ai", "TRIGGER text_lines_photo_ad",
                      "TRIGGER text_lines_photo_au", "TRIGGER photo_text_ai",
                      "TRIGGER photo_text_ad", "TRIGGER text_words_ai", "TRIGGER text_words_ad",
                      "TABLE photo_text_vocab", "TABLE photo_text_fts", "TABLE text_words_tri",
                      "TABLE text_words", "TABLE photo_text")

# Each migration brings the schema from version i to i+1; PRAGMA user_version
# records where a file stands. Never edit a released migration: append one.
MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        format TEXT,
        taken_at TEXT,
        taken_at_source TEXT,
        status TEXT NOT NULL DEFAULT 'analysed',
        engine TEXT,
        analysed_at TEXT NOT NULL
    );
    CREATE INDEX photos_taken_at ON photos(taken_at);
    CREATE TABLE locations (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        seen_at TEXT NOT NULL
    );
    CREATE INDEX locations_photo ON locations(photo_id);
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        named INTEGER NOT NULL DEFAULT 0,
        hidden INTEGER NOT NULL DEFAULT 0,
        cover_face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX people_name ON people(name COLLATE NOCASE);
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        engine_face_id TEXT NOT NULL UNIQUE,
        left REAL NOT NULL,
        top REAL NOT NULL,
        width REAL NOT NULL,
        height REAL NOT NULL,
        confidence REAL,
        descriptor BLOB
    );
    -- covering for per-person counts of photos and faces
    CREATE INDEX faces_person ON faces(person_id, photo_id);
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE TABLE text_lines (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        confidence REAL,
        left REAL,
        top REAL,
        width REAL,
        height REAL
    );
    CREATE INDEX text_lines_photo ON text_lines(photo_id);
    -- remove_diacritics 2 + unicode61 folding: search is case- and accent-insensitive.
    CREATE VIRTUAL TABLE text_lines_fts USING fts5(
        text, content='text_lines', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER text_lines_ai AFTER INSERT ON text_lines BEGIN
        INSERT INTO text_lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER text_lines_ad AFTER DELETE ON text_lines BEGIN
        INSERT INTO text_lines_fts(text_lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        pid INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        summary TEXT
    );
    CREATE TABLE engine_calls (
        id INTEGER PRIMARY KEY,
        run_id INTEGER,
        at TEXT NOT NULL,
        engine TEXT NOT NULL,
        operation TEXT NOT NULL,
        photo_sha256 TEXT,
        ms REAL,
        error TEXT
    );
    CREATE INDEX engine_calls_operation ON engine_calls(operation);
    -- Pairs of people that are probably one person (person_a < person_b).
    CREATE TABLE suggestions (
        person_a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        person_b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (person_a, person_b)
    );
    -- Photos the user erased with 'forget': imports skip their content from then on.
    CREATE TABLE forgotten (sha256 TEXT PRIMARY KEY, at TEXT NOT NULL);
    -- The undo log of user corrections: JSON enough to put things back.
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        summary TEXT NOT NULL,
        undo TEXT NOT NULL,
        undone_at TEXT
    );
    """,
    # 2: photos.status was never read or written. The FTS index is declared with
    # content="text_lines" in double quotes, the form sqlite-utils and Datasette
    # detect, so `sqlite-utils search library.db text_lines WORD` works; the
    # index is rebuilt from the lines.
    """
    ALTER TABLE photos DROP COLUMN status;
    DROP TRIGGER text_lines_ai;
    DROP TRIGGER text_lines_ad;
    DROP TABLE text_lines_fts;
    CREATE VIRTUAL TABLE text_lines_fts USING fts5(
        text, content="text_lines", content_rowid="id",
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER text_lines_ai AFTER INSERT ON text_lines BEGIN
        INSERT INTO text_lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER text_lines_ad AFTER DELETE ON text_lines BEGIN
        INSERT INTO text_lines_fts(text_lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER text_lines_au AFTER UPDATE ON text_lines BEGIN
        INSERT INTO text_lines_fts(text_lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO text_lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    INSERT INTO text_lines_fts(text_lines_fts) VALUES ('rebuild');
    """,
    # 3: text boxes that round one stored as float32 blobs become numbers.
    _fix_blob_boxes,
    # 4: the catalogue follows the disk. A path that an import found gone keeps its row
    # (the last known place of a missing photo) with gone_at set. Files that failed are
    # remembered with the size and mtime they had, so an unchanged one is not read again.
    # Photos erased by a 'forget' that was undone keep their faces' boxes and people
    # here until an import meets their content again.
    """
    ALTER TABLE locations ADD COLUMN gone_at TEXT;
    CREATE TABLE failures (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE restorable (sha256 TEXT PRIMARY KEY, faces TEXT NOT NULL, at TEXT NOT NULL);
    """,
    # 5: pairs of people the user said are not one person: never suggested again.
    """
    CREATE TABLE rejected_pairs (
        person_a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        person_b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        PRIMARY KEY (person_a, person_b)
    );
    """,
    # 6: views for sqlite-utils and Datasette users: who is where, and each person's counts.
    # No view shows a face descriptor (biometric, and of no use outside photosense).
    """
    CREATE VIEW photo_people AS
        SELECT l.path, p.id AS photo_id, p.taken_at, pe.id AS person_id, pe.name AS person,
               f."left", f.top, f.width, f.height
        FROM faces f JOIN photos p ON p.id = f.photo_id
        JOIN people pe ON pe.id = f.person_id
        JOIN locations l ON l.photo_id = p.id AND l.gone_at IS NULL
        WHERE pe.hidden = 0;
    CREATE VIEW person_summary AS
        SELECT pe.id, pe.name, pe.named, pe.hidden, count(DISTINCT f.photo_id) AS photos,
               count(f.id) AS faces
        FROM people pe LEFT JOIN faces f ON f.person_id = pe.id GROUP BY pe.id;
    """,
    # 7: names other tools wrote into the photos. Where a name came from ('typed', or
    # 'xmp:<file>'); names a region gave a person who already had another (hints, for the
    # user to decide); and named regions no detected face lies under, kept for later.
    """
    ALTER TABLE people ADD COLUMN name_source TEXT;
    CREATE TABLE name_hints (
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (person_id, name)
    );
    CREATE TABLE xmp_regions (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        "left" REAL, top REAL, width REAL, height REAL,
        source TEXT NOT NULL
    );
    CREATE INDEX xmp_regions_photo ON xmp_regions(photo_id);
    """,
    # 8: a one-face person whose face is tiny in its photo (a crowd behind the subject)
    # starts hidden with people.hidden = 2, "hidden by photosense", and shows again by
    # itself once a second face joins it or it gets a name (typed, or from metadata).
    # The user's own hide (1) is never lifted here.
    """
    CREATE TRIGGER people_unhide_background_named AFTER UPDATE OF named ON people
    WHEN NEW.named = 1 AND NEW.hidden = 2
    BEGIN UPDATE people SET hidden = 0 WHERE id = NEW.id; END;
    CREATE TRIGGER faces_unhide_background_insert AFTER INSERT ON faces
    WHEN (SELECT hidden FROM people WHERE id = NEW.person_id) = 2
     AND (SELECT count(*) FROM faces WHERE person_id = NEW.person_id) >= 2
    BEGIN UPDATE people SET hidden = 0 WHERE id = NEW.person_id; END;
    CREATE TRIGGER faces_unhide_background_update AFTER UPDATE OF person_id ON faces
    WHEN (SELECT hidden FROM people WHERE id = NEW.person_id) = 2
     AND (SELECT count(*) FROM faces WHERE person_id = NEW.person_id) >= 2
    BEGIN UPDATE people SET hidden = 0 WHERE id = NEW.person_id; END;
    """,
    # 9: each person's numbers of faces and photos, kept by triggers on every change to
    # faces (insert, delete, cascade, move), so that `people` reads 10,000 people without
    # aggregating 300,000 faces: 94 -> ~30 ms (benchmarks/search_bench.py).
    """
    ALTER TABLE people ADD COLUMN face_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE people ADD COLUMN photo_count INTEGER NOT NULL DEFAULT 0;
    UPDATE people SET
        face_count = (SELECT count(*) FROM faces f WHERE f.person_id = people.id),
        photo_count = (SELECT count(DISTINCT f.photo_id) FROM faces f
                       WHERE f.person_id = people.id);
    CREATE TRIGGER faces_count_insert AFTER INSERT ON faces
    WHEN NEW.person_id IS NOT NULL BEGIN
        UPDATE people SET face_count = face_count + 1,
            photo_count = photo_count + (SELECT count(*) = 1 FROM faces
                WHERE person_id = NEW.person_id AND photo_id = NEW.photo_id)
        WHERE id = NEW.person_id;
    END;
    CREATE TRIGGER faces_count_delete AFTER DELETE ON faces
    WHEN OLD.person_id IS NOT NULL BEGIN
        UPDATE people SET face_count = face_count - 1,
            photo_count = photo_count - (SELECT count(*) = 0 FROM faces
                WHERE person_id = OLD.person_id AND photo_id = OLD.photo_id)
        WHERE id = OLD.person_id;
    END;
    CREATE TRIGGER faces_count_move AFTER UPDATE OF person_id, photo_id ON faces
    WHEN OLD.person_id IS NOT NEW.person_id OR OLD.photo_id IS NOT NEW.photo_id BEGIN
        UPDATE people SET face_count = face_count - 1,
            photo_count = photo_count - (SELECT count(*) = 0 FROM faces
                WHERE person_id = OLD.person_id AND photo_id = OLD.photo_id)
        WHERE id = OLD.person_id;
        UPDATE people SET face_count = face_count + 1,
            photo_count = photo_count + (SELECT count(*) = 1 FROM faces
                WHERE person_id = NEW.person_id AND photo_id = NEW.photo_id)
        WHERE id = NEW.person_id;
    END;
    """,
    # 10: `forget FOLDER` forgets the paths in it. A photo that also lives outside them
    # stays with its faces; its paths inside are remembered here (with the size and mtime
    # they had) so the next import does not add them back as copies. A file there that
    # changes is new content and is imported as usual.
    """
    CREATE TABLE forgotten_paths (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 11: images too small for any engine (thumbnails, icons) are remembered like failures,
    # so a rerun reads none of them, but they are no failure: counted apart, never exit 1.
    """
    ALTER TABLE failures ADD COLUMN too_small INTEGER NOT NULL DEFAULT 0;
    """,
    # 12: the review's grid shows a person's largest faces first. Sorting all faces of a
    # person took 118 ms for one of 50,000 (benchmarks/review_bench.py); read in this
    # index's order it is a few rows.
    """
    CREATE INDEX faces_person_area ON faces(person_id, (width * height) DESC);
    """,
    # 13: saved searches. The query is JSON as the user typed it (relative dates and
    # "today" are read again at each run: a cron job's "last 7 days" moves with it);
    # people are rows, by id, so a merge repoints them and undo puts them back; a person
    # who is gone (emptied, forgotten) leaves a NULL that the run reports by the name it
    # had. `seen`: the photos printed by `search run NAME --new`.
    """
    CREATE TABLE saved_searches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        query TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_new_run_at TEXT
    );
    CREATE TABLE saved_search_people (
        id INTEGER PRIMARY KEY,
        search_id INTEGER NOT NULL REFERENCES saved_searches(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('all', 'any', 'not')),
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        name TEXT NOT NULL
    );
    CREATE INDEX saved_search_people_search ON saved_search_people(search_id);
    CREATE INDEX saved_search_people_person ON saved_search_people(person_id);
    CREATE TABLE saved_search_seen (
        search_id INTEGER NOT NULL REFERENCES saved_searches(id) ON DELETE CASCADE,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        PRIMARY KEY (search_id, photo_id)
    ) WITHOUT ROWID;
    CREATE INDEX saved_search_seen_photo ON saved_search_seen(photo_id);
    """,
    # 14: where a photo was taken, from its EXIF GPS tags (degrees, WGS 84). gps_read: 0
    # for photos imported before this, which `repair` reads (the header only, no
    # re-analysis); the partial index holds only geotagged photos, for --near.
    """
    ALTER TABLE photos ADD COLUMN latitude REAL;
    ALTER TABLE photos ADD COLUMN longitude REAL;
    ALTER TABLE photos ADD COLUMN gps_read INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX photos_latitude ON photos(latitude) WHERE latitude IS NOT NULL;
    """,
    # 15: the place each geotagged photo was taken in (places.py: GeoNames, offline), one
    # row per place, not per photo. place_read 0: a position not named yet (new, or the
    # places extra missing); 1 with place_id NULL: no listed place within 50 km.
    """
    CREATE TABLE places (
        id INTEGER PRIMARY KEY,
        city TEXT,
        region TEXT,
        country TEXT NOT NULL,
        country_code TEXT NOT NULL,
        UNIQUE (country_code, region, city)
    );
    ALTER TABLE photos ADD COLUMN place_id INTEGER REFERENCES places(id);
    ALTER TABLE photos ADD COLUMN place_read INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX photos_place ON photos(place_id) WHERE place_id IS NOT NULL;
    CREATE INDEX photos_unplaced ON photos(id) WHERE place_read = 0 AND latitude IS NOT NULL;
    """,
    # 16: a photo's text as one document, so the words of a query may be on different
    # lines (OCR lines are an artefact: "louvre mairie" found nothing on the street sign
    # whose two words are on two lines). photo_text holds each photo's lines joined by
    # textquery.LINE_BREAK (a token no query holds: phrases stay within a line), kept by
    # triggers on text_lines; photo_text_fts indexes it as external content (the index
    # only). text_words holds every word the index knows, with a trigram index, for
    # parts of words ("ouvr" finds LOUVRE): trigrams of the whole text took 597 MB at
    # 5,000,000 lines, and 100+ ms for a part that holds no word.
    PHOTO_TEXT,
    # 17: --on MM-DD (the same day of any year) seeks its day instead of reading every
    # photo's date: 76 ms (p50) at 1,000,000 photos before, design.md has the after.
    """
    CREATE INDEX photos_day ON photos(substr(taken_at, 6, 5), taken_at);
    """,
    # 18: biometric privacy (privacy.py). forgotten_faces: the faces `people forget` erased,
    # as the photo's content hash and the box only (no template), so no import or reindex
    # stores them again. suppression_templates: `--never-again`, one per forgotten person:
    # a descriptor (the local engine's mean) or faces kept in a cloud collection
    # (suppression_faces); a new face that matches one is deleted, never stored. A photo
    # under a folder rule ([[folders]] in config.toml) records it in photos.protection:
    # 'no-faces' (no face analysis) or 'no-cloud' (nothing sent to a cloud engine), or both.
    """
    CREATE TABLE suppression_templates (
        id INTEGER PRIMARY KEY,
        label TEXT,
        engine TEXT NOT NULL,
        faces INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    -- a template's faces: ids in a cloud collection (descriptor NULL), or descriptors the
    -- offline engine is primed with under these ids
    CREATE TABLE suppression_faces (
        engine_face_id TEXT PRIMARY KEY,
        template_id INTEGER NOT NULL REFERENCES suppression_templates(id) ON DELETE CASCADE,
        descriptor BLOB
    );
    CREATE INDEX suppression_faces_template ON suppression_faces(template_id);
    -- template_id: the template a forgotten face gives its face to when a reindex (or an
    -- import) meets it on another engine, so --never-again outlives a switch of engine
    CREATE TABLE forgotten_faces (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        "left" REAL NOT NULL, top REAL NOT NULL, width REAL NOT NULL, height REAL NOT NULL,
        template_id INTEGER REFERENCES suppression_templates(id) ON DELETE SET NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX forgotten_faces_sha ON forgotten_faces(sha256);
    ALTER TABLE photos ADD COLUMN protection TEXT;
    -- status counts the descriptors: without this the count reads every face row with its
    -- 512-byte blob (239 ms at 3,000,000 faces without one; a local library, with them, more)
    CREATE INDEX faces_with_descriptor ON faces(id) WHERE descriptor IS NOT NULL;
    -- files photosense wrote that show faces or tie names to them (crops, contact sheets,
    -- sidecars), with the people and faces in each and the hash of what was written: a
    -- forget deletes the ones still as written, and status counts them.
    CREATE TABLE face_files (
        path TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        people TEXT NOT NULL,
        faces TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 19: a photo is missing when no path of it is live. Counting them looked each photo's
    # paths up in the table for gone_at: 3.1 s of status's 4.4 s at 1,000,000 photos
    # (search_bench --million). With the live paths indexed apart, status counts them as
    # photos minus the photos with a live path: 80 ms.
    """
    CREATE INDEX locations_live ON locations(photo_id) WHERE gone_at IS NULL;
    """,
    # 20: rules the clustering never breaks (rules.py). face_rejections: a face the user took
    # out of a person (unassign, move, "not this person", a declined suggestion), kept as the
    # photo's content hash and the face's box, so the rule outlives a reindex (new face ids)
    # and a forget undone and imported again (new photo id). people.born: `people born`, a
    # date (YYYY-MM-DD) before which no photo's face joins them. face_suggestions: a face
    # whose best match fell in the engine's suggestion band (below the 90 that clusters):
    # it started its own person and asks "is this Ada?"; one row a face, its best person.
    """
    CREATE TABLE face_rejections (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        "left" REAL NOT NULL, top REAL NOT NULL, width REAL NOT NULL, height REAL NOT NULL,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        at TEXT NOT NULL
    );
    CREATE INDEX face_rejections_sha ON face_rejections(sha256);
    CREATE INDEX face_rejections_person ON face_rejections(person_id);
    ALTER TABLE people ADD COLUMN born TEXT;
    CREATE TABLE face_suggestions (
        face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX face_suggestions_person ON face_suggestions(person_id);
    """,
    # 21: Rekognition user vectors (uservectors.py): one user a person with enough faces.
    # A row is what the collection may hold, written before each call that adds to it
    # (pending: the faces being associated; faces: those the service said it took) and
    # narrowed after each call that takes away, so it is never less than the collection
    # holds: a crash between calls leaves work the next sync finds (pending faces are sent
    # again), never a user or an association nobody knows of.
    # No key to people: a person merged away or forgotten keeps its row until DeleteUser
    # succeeds. refused: faces the service would not associate (LOW_MATCH_CONFIDENCE),
    # not sent again while they stay in the person.
    """
    CREATE TABLE user_vectors (
        user_id TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL,
        faces TEXT NOT NULL,
        pending TEXT NOT NULL,
        refused TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX user_vectors_person ON user_vectors(person_id);
    """,
    # 22: people whose faces changed since the sync last brought their user in step: the
    # sync reads only these people's faces (at 100,000 users, reading every user's took
    # 29.5 s of each import). n counts the changes, so a change made while a sync runs is
    # not cleared with the ones it saw.
    """
    CREATE TABLE users_to_sync (person_id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
    CREATE TRIGGER faces_users_ai AFTER INSERT ON faces WHEN new.person_id IS NOT NULL BEGIN
        INSERT INTO users_to_sync(person_id, n) VALUES (new.person_id, 1)
            ON CONFLICT(person_id) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER faces_users_ad AFTER DELETE ON faces WHEN old.person_id IS NOT NULL BEGIN
        INSERT INTO users_to_sync(person_id, n) VALUES (old.person_id, 1)
            ON CONFLICT(person_id) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER faces_users_au_new AFTER UPDATE OF person_id ON faces
    WHEN new.person_id IS NOT NULL BEGIN
        INSERT INTO users_to_sync(person_id, n) VALUES (new.person_id, 1)
            ON CONFLICT(person_id) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER faces_users_au_old AFTER UPDATE OF person_id ON faces
    WHEN old.person_id IS NOT NULL BEGIN
        INSERT INTO users_to_sync(person_id, n) VALUES (old.person_id, 1)
            ON CONFLICT(person_id) DO UPDATE SET n = n + 1;
    END;
    -- users made before this table: each is checked once, at the next sync
    INSERT INTO users_to_sync(person_id, n) SELECT DISTINCT person_id, 1 FROM user_vectors;
    """,
]


SCHEMA_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    return out
