"""Out-of-core LSH buckets (DuckDB) give exactly the pairs of the in-memory lsh_pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from copytrace.errors import OptionError
from copytrace.stages import candidates as cand
from copytrace.stages.buckets import (
    BandKeySpool,
    default_memory_limit,
    estimate_band_key_bytes,
    external_lsh_pairs,
    parse_memory_limit,
    remove_spool,
)

NUM_PERM = 64
PARAMS = cand.optimal_params(0.5, NUM_PERM)


def corpus(n: int, seed: int, dup_rate: float = 0.3, big: int = 0) -> np.ndarray:
    """Random signatures (final order) with planted near-duplicates and, with
    ``big``, one bucket of ``big`` identical signatures."""
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint32)
    for _ in range(int(n * dup_rate)):
        s, t = rng.integers(0, n, size=2)
        keep = rng.random(NUM_PERM) < rng.uniform(0.5, 0.95)
        sig[t, keep] = sig[s, keep]
    if big and n > big + 1:
        start = int(rng.integers(0, n - big))
        sig[start : start + big] = sig[start]
    return sig


def spool_in_store_order(
    tmp: Path, sig: np.ndarray, seed: int, batch: int
) -> tuple[BandKeySpool, np.ndarray]:
    """Write the signatures in a shuffled store order; returns the spool and rank."""
    n = sig.shape[0]
    order = np.random.default_rng(seed + 1).permutation(n)  # final index -> store row
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    store_sigs = np.empty_like(sig)
    store_sigs[order] = sig
    spool = BandKeySpool(tmp / "spool", PARAMS)
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        spool.append(np.arange(lo, hi, dtype=np.int64), store_sigs[lo:hi])
    spool.close()
    return spool, rank


def run_external(tmp: Path, spool, rank, active, max_bucket, **kw) -> np.ndarray:
    kw.setdefault("memory_limit", 256 << 20)
    return external_lsh_pairs(
        spool, rank, active, max_bucket,
        db_path=tmp / "buckets.duckdb", threads=2, temp_dir=tmp / "duckdb-tmp", **kw,
    )


@pytest.mark.parametrize(
    "n, seed, big, max_bucket, active_rate, batch",
    [
        (0, 0, 0, 64, 1.0, 100),
        (1, 1, 0, 64, 1.0, 100),
        (2, 2, 0, 64, 1.0, 100),
        (300, 3, 0, 64, 1.0, 37),
        (2000, 4, 150, 64, 0.85, 500),  # a bucket above max_bucket, inactive docs
        (2000, 5, 40, 8, 0.7, 2000),  # small max_bucket: many stars
        (5000, 6, 300, 64, 0.95, 1024),
    ],
)
def test_external_equals_in_memory(tmp_path, n, seed, big, max_bucket, active_rate, batch):
    sig = corpus(n, seed, big=big)
    active = np.random.default_rng(seed + 2).random(n) < active_rate
    expected = cand.lsh_pairs(sig, PARAMS, active, max_bucket)
    spool, rank = spool_in_store_order(tmp_path, sig, seed, batch)
    got = run_external(tmp_path, spool, rank, active, max_bucket)
    assert got.dtype == np.int64 and got.shape[1] == 2
    assert np.array_equal(got, expected)
    if n >= 2000:
        assert expected.shape[0] > 100  # the planted duplicates were found


def test_large_bucket_is_a_star(tmp_path):
    n, max_bucket = 400, 16
    sig = corpus(n, 11, dup_rate=0.0)
    sig[100:200] = sig[100]  # 100 identical documents
    active = np.ones(n, dtype=bool)
    active[100] = False  # the star centre is then the next member
    spool, rank = spool_in_store_order(tmp_path, sig, 11, 128)
    got = run_external(tmp_path, spool, rank, active, max_bucket)
    assert np.array_equal(got, cand.lsh_pairs(sig, PARAMS, active, max_bucket))
    star = got[(got[:, 0] >= 100) & (got[:, 1] < 200)]
    assert np.array_equal(star, np.stack([np.full(98, 101), np.arange(102, 200)], axis=1))
    # streamed 3 rows at a time: the bucket spans many batches
    assert np.array_equal(run_external(tmp_path, spool, rank, active, max_bucket, batch_rows=3), got)


def test_tiny_stream_batches_and_memory_limit_keep_the_result(tmp_path):
    sig = corpus(3000, 21, big=120)
    active = np.random.default_rng(3).random(3000) < 0.9
    expected = cand.lsh_pairs(sig, PARAMS, active, 64)
    spool, rank = spool_in_store_order(tmp_path, sig, 21, 700)
    # buckets cut by batch boundaries (a bucket of ~110 rows spans many 7-row batches)
    got = run_external(
        tmp_path, spool, rank, active, 64, memory_limit=parse_memory_limit("16MB"), batch_rows=7
    )
    assert np.array_equal(got, expected)
    db = tmp_path / "buckets.duckdb"
    assert db.is_file() and db.resolve().is_relative_to(tmp_path.resolve())
    assert (tmp_path / "duckdb-tmp").is_dir()


def test_too_small_memory_limit_is_a_clear_error(tmp_path):
    n = 20000
    sig = np.random.default_rng(5).integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint32)
    spool = BandKeySpool(tmp_path / "spool", PARAMS)
    spool.append(np.arange(n), sig)
    with pytest.raises(OptionError, match="memory-limit: 1048576 bytes are too few"):
        run_external(tmp_path, spool, np.arange(n), np.ones(n, dtype=bool), 64, memory_limit=1 << 20)


def test_spool_files_and_resume(tmp_path):
    sig = corpus(1000, 31)
    active = np.ones(1000, dtype=bool)
    expected = cand.lsh_pairs(sig, PARAMS, active, 64)
    spool = BandKeySpool(tmp_path / "spool", PARAMS)
    spool.append(np.arange(0, 600), sig[:600])
    assert not BandKeySpool.is_complete(tmp_path / "spool")  # interrupted here: not reusable
    spool.close()
    assert BandKeySpool.is_complete(tmp_path / "spool", PARAMS)
    assert not BandKeySpool.is_complete(tmp_path / "spool", cand.LshParams(PARAMS.bands + 1, 1))
    files = spool.files
    assert [f.name for f in files] == ["batch-000000.parquet"]
    t = pq.read_table(files[0])
    assert t.num_rows == 600 * PARAMS.bands
    assert str(t.schema.field("band").type) == "int16"
    assert str(t.schema.field("key").type) == "uint64"
    assert str(t.schema.field("row").type) == "int64"
    assert np.array_equal(
        t.column("key").to_numpy().reshape(PARAMS.bands, 600), cand.band_keys(sig[:600], PARAMS)
    )
    # an interrupted write leaves only a hidden temporary file, which a reopened spool drops
    (tmp_path / "spool" / ".batch-000001.parquet.tmp").write_bytes(b"partial")
    resumed = BandKeySpool(tmp_path / "spool", PARAMS, fresh=False)
    assert resumed.files == files
    assert not (tmp_path / "spool" / ".batch-000001.parquet.tmp").exists()
    resumed.append(np.arange(600, 1000), sig[600:])
    resumed.close()
    assert [f.name for f in resumed.files] == ["batch-000000.parquet", "batch-000001.parquet"]
    assert BandKeySpool.is_complete(tmp_path / "spool", PARAMS)
    # the directory alone is enough to compute the pairs
    got = run_external(tmp_path, tmp_path / "spool", np.arange(1000), active, 64)
    assert np.array_equal(got, expected)
    # other parameters cannot extend this spool; a fresh spool starts empty
    with pytest.raises(ValueError, match="bands"):
        BandKeySpool(tmp_path / "spool", cand.LshParams(PARAMS.bands + 1, 1), fresh=False)
    fresh = BandKeySpool(tmp_path / "spool", PARAMS)
    assert fresh.files == [] and not BandKeySpool.is_complete(tmp_path / "spool")
    remove_spool(tmp_path / "spool")
    assert not (tmp_path / "spool").exists()


def test_empty_batch_and_mismatch(tmp_path):
    spool = BandKeySpool(tmp_path / "s", PARAMS)
    assert spool.append(np.zeros(0, dtype=np.int64), np.zeros((0, NUM_PERM), dtype=np.uint32)) is None
    assert spool.files == []
    with pytest.raises(ValueError):
        spool.append(np.arange(3), np.zeros((2, NUM_PERM), dtype=np.uint32))
    got = run_external(tmp_path, spool, np.arange(5), np.ones(5, dtype=bool), 64)
    assert got.shape == (0, 2) and got.dtype == np.int64


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4GB", 4 * 10**9),
        ("512MB", 512 * 10**6),
        ("2GiB", 2 * 2**30),
        ("1.5G", int(1.5 * 2**30)),
        ("1.5g", int(1.5 * 2**30)),
        ("64 MiB", 64 * 2**20),
        ("1000000", 1_000_000),
        ("512B", 512),
        (" 3kb ", 3000),
        ("1T", 2**40),
    ],
)
def test_parse_memory_limit(text, expected):
    assert parse_memory_limit(text) == expected


@pytest.mark.parametrize("text", ["", "GB", "lots", "4 GBs", "-1GB", "0", "0MB", "1e9", "4 XB", "1..5G"])
def test_parse_memory_limit_rejects(text):
    with pytest.raises(OptionError, match="memory-limit"):
        parse_memory_limit(text)


def test_default_memory_limit_and_estimate():
    limit = default_memory_limit()
    with open("/proc/meminfo", encoding="ascii") as f:
        total = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemTotal:"))
    assert 64 << 20 <= limit <= total
    assert default_memory_limit(0.25) <= limit
    assert estimate_band_key_bytes(0, 25) == 0
    assert estimate_band_key_bytes(1_000_000, 25) >= 8 * 25 * 1_000_000
    assert estimate_band_key_bytes(2_000_000, 25) == 2 * estimate_band_key_bytes(1_000_000, 25)
