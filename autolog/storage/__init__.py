"""Storage: the bytes. Copies to and from any `output_uri` through fsspec, and what is around them.

`access` (`Storage`: put, get, remove on local disk, S3, GCS, Azure, memory), `transfer` (parallel ranged
downloads), `fingerprint` (BLAKE3 content hashes, stat fingerprints), `archive` (folder zips, extracted
without trusting them), `serializers` (artifact objects to one file and back), `cache` (the local download
cache). The records that point at the bytes live in `autolog.store`; this package never reads them.
"""
