"""The pipeline: scan folders, prepare each new image, analyse it, cluster its faces, store it.

Threads read, prepare and call the engine in parallel; the calling thread is
the catalogue's only writer and commits each photo in one transaction, so an
interrupted run loses at most the photos in flight. Faces those photos left in
the engine's collection are found and deleted at the start of the next run.

`import` and `reindex` are two jobs on the one Pipeline (runner.py): the same
reading, hashing, preparing, engine calls, run record, progress and crash
recovery; they differ in what they feed it and how they store a result. One file
a role, as beets splits its importer:

- state.py: Candidate (a file found) and Outcome (what became of it)
- scan.py: walking folders, exclusions, reading an image's bytes once
- content.py: each content hash analysed once in a run
- budget.py: the per-photo cost, and --max-cost
- analyse.py: the engine calls of one photo, in worker threads
- runner.py: attaching the engine, the workers, the one writer, recovery
- importjob.py, reindexjob.py: the two jobs
"""
