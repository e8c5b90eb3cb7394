//! `il1sim population` and `il1sim merge`: virtual populations, sharded for schedulers.
//!
//! Every run writes shards (`<out>/shards/shard-K-of-N/`: subjects.parquet, aggregates.bin,
//! manifest.json), each into a temporary directory renamed when complete. A run without
//! `--shard` is shard 1 of 1 and merges at once; `merge` turns complete shards into the
//! outputs, so one run and N merged shards go through the same code and give the same bytes.
//!
//! The files: `run` (`il1sim population`: the run, its chunks and threads, one shard),
//! `shards` (the manifest a shard records, run identity, the folder of shards), `merge`
//! (`il1sim merge`: checking the shards and combining them) and `outputs` (the Parquet and
//! CSV tables, band and attainment figures, staged and placed as one set).

pub mod merge;
pub mod outputs;
pub mod run;
pub mod shards;
