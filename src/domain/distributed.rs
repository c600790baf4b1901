//! Distribution of independent work items (cells, parameter sets, ensemble
//! members) over threads, MPI ranks or scheduler array tasks.
//!
//! Two layers, both generic over the work item:
//!
//! * **Tiles** ([`Tile`], [`parse_tile`], [`tile_range`]): a contiguous,
//!   balanced split of `n` items into `k` tiles, for `--tile i/n` runs started
//!   as scheduler job arrays and merged afterwards.
//! * **Engines** ([`Engine`]): `map` a pure function over a slice of items and
//!   get the results back in item order on rank 0. [`LocalEngine`] runs rayon
//!   in this process; `MpiEngine` (cargo feature `mpi`) lets rank 0 hand out
//!   dynamic chunks of items to the other ranks, each of which runs its chunk
//!   with rayon, and gathers the results in item order. [`AnyEngine`] picks
//!   one at run time ([`engine_from_flag`]).
//!
//! Results are identical byte for byte whatever the engine, rank count,
//! chunk size or thread count: items and results cross ranks through the
//! [`encode`]/[`decode`] codec (postcard, which stores `f64` as its eight
//! little-endian bytes, NaN payloads included), and rank 0 places every chunk
//! at its item offset.
//!
//! Failures of a work item are values: let `f` return a `Result` and an
//! item's error travels back like any other output. A panic inside `f` is
//! caught on the rank that ran it and becomes an [`Error::Model`] from `map`
//! on rank 0 naming the item, and an error on every other rank too, so that
//! all ranks leave together; no rank is aborted or left waiting.
//!
//! Long maps can keep their finished blocks on disk and resume after a kill:
//! see [`map_resumable`].
//!
//! A runner plugs in with a few lines; the same code runs on one machine and
//! under `mpirun` (every rank runs it, rank 0 writes the outputs):
//!
//! ```
//! use calimap::domain::distributed::{engine_from_flag, Engine};
//!
//! # fn main() -> calimap::Result<()> {
//! let engine = engine_from_flag(false, Some(2))?; // `--mpi`, `--threads`
//! let cells: Vec<u32> = if engine.is_root() { (0..100).collect() } else { Vec::new() };
//! let run_cell = |c: &u32| -> Result<f64, String> {
//!     if *c == 13 { Err(format!("cell {c}: no forcing")) } else { Ok(f64::from(*c) * 0.5) }
//! };
//! if let Some(results) = engine.map(&cells, 8, &run_cell)? {
//!     assert_eq!(results.len(), 100);
//!     assert!(results[13].is_err());
//!     assert_eq!(results[99], Ok(49.5));
//! }
//! engine.barrier();
//! # Ok(())
//! # }
//! ```
//!
//! Pick `chunk` of at least two or three times the threads of a rank, so that
//! every core of a node has work, and small enough that each rank gets many
//! chunks (uneven cells then balance).

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod handle;
mod resume;
pub use handle::EngineHandle;
pub use resume::{map_resumable, Checkpoint, ResumeStats};

// ---------------------------------------------------------------------------
// Tiles
// ---------------------------------------------------------------------------

/// One tile of a domain split for a scheduler job array: tile `index` (1-based,
/// as written on the command line) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tile {
    /// 1-based tile number, `1..=count`.
    pub index: usize,
    /// Number of tiles the items are split into (>= 1).
    pub count: usize,
}

impl Tile {
    /// The whole domain as a single tile (`1/1`).
    pub const WHOLE: Tile = Tile { index: 1, count: 1 };

    /// A checked tile: `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 {
            return Err(Error::Other(
                "tile: the number of tiles must be at least 1".into(),
            ));
        }
        if index == 0 || index > count {
            return Err(Error::Other(format!(
                "tile {index}/{count}: the tile number must be between 1 and {count} (tiles are numbered from 1)"
            )));
        }
        Ok(Tile { index, count })
    }

    /// The contiguous range of item indices (0-based) this tile covers out of `n_items`.
    pub fn range(&self, n_items: usize) -> Range<usize> {
        tile_range(n_items, self.index.saturating_sub(1), self.count)
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Tile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_tile(s)
    }
}

/// Parse a tile written `i/n` (1-based: `1/4` .. `4/4`), as given to `--tile`.
///
/// Spaces around the numbers are allowed; anything else (`0/4`, `5/4`, `3`,
/// `a/b`, `1/0`) is an error that quotes the text and says what was expected.
pub fn parse_tile(text: &str) -> Result<Tile> {
    let bad = |why: &str| {
        Error::Other(format!(
            "--tile `{text}`: {why}; expected `i/n` with 1 <= i <= n, e.g. `3/8`"
        ))
    };
    let (i, n) = text.split_once('/').ok_or_else(|| bad("there is no `/`"))?;
    let i: usize = i
        .trim()
        .parse()
        .map_err(|_| bad("the tile number is not a whole number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| bad("the tile count is not a whole number"))?;
    if n == 0 {
        return Err(bad("the tile count must be at least 1"));
    }
    if i == 0 || i > n {
        return Err(bad(
            "the tile number is out of range (tiles are numbered from 1)",
        ));
    }
    Ok(Tile { index: i, count: n })
}

/// The items of tile `tile` (0-based) when `n_items` items are split into
/// `n_tiles` contiguous tiles whose sizes differ by at most one (the first
/// `n_items % n_tiles` tiles get the extra item). The tiles cover `0..n_items`
/// in order without gaps or overlap.
///
/// `n_tiles == 0` is read as one tile; a `tile >= n_tiles` gets the empty range
/// `n_items..n_items`.
pub fn tile_range(n_items: usize, tile: usize, n_tiles: usize) -> Range<usize> {
    let n_tiles = n_tiles.max(1);
    if tile >= n_tiles {
        return n_items..n_items;
    }
    let base = n_items / n_tiles;
    let extra = n_items % n_tiles;
    let start = tile * base + tile.min(extra);
    let len = base + usize::from(tile < extra);
    start..start + len
}

// ---------------------------------------------------------------------------
// Codec
// ---------------------------------------------------------------------------

/// Serialize a value to the compact binary form used between ranks (postcard).
///
/// Floats are stored bit for bit, so `decode(encode(x))` is identical to `x`
/// (NaN and signed zero included). Types that need self-describing formats
/// (`#[serde(untagged)]`, `#[serde(flatten)]`, `serde_json::Value`) are not
/// supported and give an error.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value)
        .map_err(|e| Error::Other(format!("encoding a value for another rank failed: {e}")))
}

/// Read a value written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| {
        Error::Other(format!(
            "decoding {} bytes from another rank failed: {e}",
            bytes.len()
        ))
    })
}

// ---------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------

/// Something that maps a pure function over work items, possibly across
/// processes. Every rank must make the same sequence of `map`, `broadcast` and
/// `barrier` calls (they are collective).
pub trait Engine {
    /// This process's rank, 0 for the root.
    fn rank(&self) -> usize;

    /// Number of ranks (1 for a local engine).
    fn size(&self) -> usize;

    /// Whether this rank is the root (rank 0), the one that gathers results and writes outputs.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Short name for logs and manifests (`local`, `mpi`).
    fn name(&self) -> &'static str;

    /// Apply `f` to every item and return the outputs in item order on rank 0
    /// (`Ok(None)` on the other ranks).
    ///
    /// Only rank 0's `items` are used; the other ranks may pass the same slice
    /// or an empty one. Items travel in chunks of `chunk` consecutive items
    /// (>= 1): small chunks balance uneven item costs, large chunks send fewer
    /// messages. Item failures should be part of `O` (e.g. `Result<T, String>`);
    /// a panic in `f` becomes an [`Error::Model`] naming the item.
    fn map<I, O>(
        &self,
        items: &[I],
        chunk: usize,
        f: &(dyn Fn(&I) -> O + Sync),
    ) -> Result<Option<Vec<O>>>
    where
        I: Serialize + DeserializeOwned + Sync,
        O: Serialize + DeserializeOwned + Send,
    {
        self.map_offset(items, 0, chunk, f)
    }

    /// [`Engine::map`] over a part of a larger list whose first item has index
    /// `first` there; errors name items by that index.
    fn map_offset<I, O>(
        &self,
        items: &[I],
        first: usize,
        chunk: usize,
        f: &(dyn Fn(&I) -> O + Sync),
    ) -> Result<Option<Vec<O>>>
    where
        I: Serialize + DeserializeOwned + Sync,
        O: Serialize + DeserializeOwned + Send;

    /// Send a small value (configuration, parameter set) from rank 0 to every
    /// rank. Rank 0 passes `Some(value)`; the other ranks pass `None` (a value
    /// they pass is ignored) and get rank 0's.
    fn broadcast<T: Serialize + DeserializeOwned>(&self, value: Option<T>) -> Result<T>;

    /// Wait until every rank reaches this point.
    fn barrier(&self);

    /// Bytes this rank has sent to and received from other ranks so far
    /// (message payloads; `(0, 0)` for a local engine).
    fn traffic(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// Why one work item could not produce an output (a panic inside `f`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ItemFailure {
    /// 0-based index of the item in the mapped slice.
    item: u64,
    /// Rank that ran it.
    rank: u64,
    /// The panic message or codec error.
    message: String,
}

impl ItemFailure {
    fn into_error(self) -> Error {
        Error::model(
            Some(format!("item {} (rank {})", self.item, self.rank)),
            self.message,
        )
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// Run `f` over `items` (whose first element is item `offset` of the whole
/// slice) with rayon in `pool`, in order. A panic is reported for the lowest
/// panicking item, whatever the scheduling.
fn run_chunk<I, O>(
    pool: Option<&rayon::ThreadPool>,
    items: &[I],
    offset: usize,
    rank: usize,
    f: &(dyn Fn(&I) -> O + Sync),
) -> std::result::Result<Vec<O>, ItemFailure>
where
    I: Sync,
    O: Send,
{
    let work = || -> Vec<std::result::Result<O, String>> {
        items
            .par_iter()
            .map(|item| catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|p| panic_message(&*p)))
            .collect()
    };
    let outcomes = match pool {
        Some(pool) => pool.install(work),
        None => work(),
    };
    let mut out = Vec::with_capacity(outcomes.len());
    for (k, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(o) => out.push(o),
            Err(message) => {
                return Err(ItemFailure {
                    item: (offset + k) as u64,
                    rank: rank as u64,
                    message,
                })
            }
        }
    }
    Ok(out)
}

fn check_chunk(chunk: usize) -> Result<()> {
    if chunk == 0 {
        return Err(Error::Other(
            "engine map: the chunk size must be at least 1".into(),
        ));
    }
    Ok(())
}

fn build_pool(threads: Option<usize>) -> Result<Option<Arc<rayon::ThreadPool>>> {
    match threads {
        None => Ok(None),
        Some(0) => Err(Error::Other(
            "--threads: the number of threads must be at least 1".into(),
        )),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map(|p| Some(Arc::new(p)))
            .map_err(|e| Error::Other(format!("starting {n} worker threads failed: {e}"))),
    }
}

/// The single-process engine: rayon over all items, in this process.
#[derive(Clone, Default)]
pub struct LocalEngine {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEngine")
            .field("threads", &self.threads())
            .finish()
    }
}

impl LocalEngine {
    /// A local engine on `threads` worker threads (`None`: rayon's global pool, all cores).
    pub fn new(threads: Option<usize>) -> Result<Self> {
        Ok(LocalEngine {
            pool: build_pool(threads)?,
        })
    }

    /// Number of worker threads used.
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map(|p| p.current_num_threads())
            .unwrap_or_else(rayon::current_num_threads)
    }
}

impl Engine for LocalEngine {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn name(&self) -> &'static str {
        "local"
    }

    fn map_offset<I, O>(
        &self,
        items: &[I],
        first: usize,
        chunk: usize,
        f: &(dyn Fn(&I) -> O + Sync),
    ) -> Result<Option<Vec<O>>>
    where
        I: Serialize + DeserializeOwned + Sync,
        O: Serialize + DeserializeOwned + Send,
    {
        check_chunk(chunk)?;
        run_chunk(self.pool.as_deref(), items, first, 0, f)
            .map(Some)
            .map_err(ItemFailure::into_error)
    }

    fn broadcast<T: Serialize + DeserializeOwned>(&self, value: Option<T>) -> Result<T> {
        value.ok_or_else(|| Error::Other("broadcast: rank 0 gave no value to send".into()))
    }

    fn barrier(&self) {}
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LocalEngine>();
    assert_send_sync::<Tile>();
};

/// The engine chosen at run time: local, or MPI in a build with the `mpi` feature.
#[derive(Debug)]
pub enum AnyEngine {
    /// rayon in this process.
    Local(LocalEngine),
    /// MPI ranks, each with rayon inside.
    #[cfg(feature = "mpi")]
    Mpi(mpi_engine::MpiEngine),
}

/// The engine a command line asks for: MPI when `mpi` is set (an
/// [`Error::Unsupported`] in a build without the `mpi` feature, never a silent
/// local run), else the local engine. `threads` sets the rayon threads of this
/// process (`None`: all cores).
pub fn engine_from_flag(mpi: bool, threads: Option<usize>) -> Result<AnyEngine> {
    if mpi {
        #[cfg(feature = "mpi")]
        {
            Ok(AnyEngine::Mpi(mpi_engine::MpiEngine::new(threads)?))
        }
        #[cfg(not(feature = "mpi"))]
        {
            Err(Error::Unsupported(
                "--mpi was given but this calimap was built without MPI support; rebuild with `cargo build --release --features mpi`".into(),
            ))
        }
    } else {
        Ok(AnyEngine::Local(LocalEngine::new(threads)?))
    }
}

impl Engine for AnyEngine {
    fn rank(&self) -> usize {
        match self {
            AnyEngine::Local(e) => e.rank(),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.rank(),
        }
    }

    fn size(&self) -> usize {
        match self {
            AnyEngine::Local(e) => e.size(),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.size(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            AnyEngine::Local(e) => e.name(),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.name(),
        }
    }

    fn map_offset<I, O>(
        &self,
        items: &[I],
        first: usize,
        chunk: usize,
        f: &(dyn Fn(&I) -> O + Sync),
    ) -> Result<Option<Vec<O>>>
    where
        I: Serialize + DeserializeOwned + Sync,
        O: Serialize + DeserializeOwned + Send,
    {
        match self {
            AnyEngine::Local(e) => e.map_offset(items, first, chunk, f),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.map_offset(items, first, chunk, f),
        }
    }

    fn broadcast<T: Serialize + DeserializeOwned>(&self, value: Option<T>) -> Result<T> {
        match self {
            AnyEngine::Local(e) => e.broadcast(value),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.broadcast(value),
        }
    }

    fn barrier(&self) {
        match self {
            AnyEngine::Local(e) => e.barrier(),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.barrier(),
        }
    }

    fn traffic(&self) -> (u64, u64) {
        match self {
            AnyEngine::Local(e) => e.traffic(),
            #[cfg(feature = "mpi")]
            AnyEngine::Mpi(e) => e.traffic(),
        }
    }
}

#[cfg(feature = "mpi")]
pub use mpi_engine::MpiEngine;

#[cfg(feature = "mpi")]
mod mpi_engine {
    //! The MPI engine: rank 0 serves chunks of item indices on demand.
    //!
    //! Protocol (one round per `map` call, on `MPI_COMM_WORLD`):
    //! 1. rank 0 sends each worker one chunk (`TAG_WORK`: chunk id, offset,
    //!    the chunk's items), or `TAG_STOP` when none is left;
    //! 2. a worker runs its chunk with rayon and answers `TAG_RESULT` (chunk
    //!    id and outputs, or the failure); rank 0 stores the outputs at the
    //!    chunk's offset and sends that worker the next chunk or `TAG_STOP`;
    //! 3. meanwhile a thread on rank 0 takes chunks from the same counter and
    //!    runs them itself; after a failure no new chunk is handed out, the
    //!    chunks in flight are drained and every worker is stopped.
    //!
    //! Only rank 0's main thread and each worker's main thread call MPI
    //! (`MPI_THREAD_FUNNELED`). Waiting ranks poll with a short sleep instead
    //! of spinning, so oversubscribed nodes are not slowed down by idle ranks.

    use std::fmt;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use mpi::environment::Universe;
    use mpi::point_to_point::{Message, Status};
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};

    use super::{build_pool, check_chunk, decode, encode, run_chunk, Engine, ItemFailure};
    use crate::{Error, Result};

    const TAG_WORK: i32 = 11;
    const TAG_RESULT: i32 = 12;
    const TAG_STOP: i32 = 13;
    const TAG_BCAST: i32 = 14;
    const TAG_BCAST_FAIL: i32 = 15;

    /// A chunk as sent by rank 0.
    #[derive(Serialize)]
    struct WorkOut<'a, I> {
        chunk: u64,
        offset: u64,
        items: &'a [I],
    }

    /// A chunk as received by a worker.
    #[derive(Deserialize)]
    struct WorkIn<I> {
        chunk: u64,
        offset: u64,
        items: Vec<I>,
    }

    /// A worker's answer for one chunk.
    #[derive(Serialize, Deserialize)]
    struct Answer<O> {
        chunk: u64,
        outcome: std::result::Result<Vec<O>, ItemFailure>,
    }

    /// MPI ranks, each running its chunks with rayon. Creating it initialises
    /// MPI; dropping it finalises MPI (once per process).
    pub struct MpiEngine {
        world: SimpleCommunicator,
        rank: usize,
        size: usize,
        pool: Option<Arc<rayon::ThreadPool>>,
        root_computes: bool,
        sent: AtomicU64,
        received: AtomicU64,
        // Declared last: MPI is finalised when the universe drops, after the communicator.
        _universe: Universe,
    }

    impl fmt::Debug for MpiEngine {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("MpiEngine")
                .field("rank", &self.rank)
                .field("size", &self.size)
                .field("root_computes", &self.root_computes)
                .finish()
        }
    }

    impl MpiEngine {
        /// Initialise MPI (funnelled threading) with `threads` rayon threads
        /// per rank (`None`: all cores the rank sees). An error if MPI was
        /// already initialised in this process.
        pub fn new(threads: Option<usize>) -> Result<Self> {
            let pool = build_pool(threads)?;
            let (universe, _level) = mpi::initialize_with_threading(mpi::Threading::Funneled)
                .ok_or_else(|| {
                    Error::Other(
                        "MPI could not be initialised: it was already initialised in this process"
                            .into(),
                    )
                })?;
            let world = universe.world();
            let rank = usize::try_from(world.rank()).unwrap_or(0);
            let size = usize::try_from(world.size()).unwrap_or(1).max(1);
            Ok(MpiEngine {
                world,
                rank,
                size,
                pool,
                root_computes: true,
                sent: AtomicU64::new(0),
                received: AtomicU64::new(0),
                _universe: universe,
            })
        }

        /// Whether rank 0 also runs chunks besides serving the workers (default
        /// true). With one rank it always does.
        pub fn with_root_computes(mut self, yes: bool) -> Self {
            self.root_computes = yes;
            self
        }

        /// Wait for a message from `source` (any rank if `None`) with any tag,
        /// polling with a growing sleep (20 us .. 2 ms).
        fn wait_message(&self, source: Option<usize>) -> (Message, Status) {
            let mut nap = Duration::from_micros(20);
            loop {
                let probe = match source {
                    Some(r) => self
                        .world
                        .process_at_rank(r as i32)
                        .immediate_matched_probe(),
                    None => self.world.any_process().immediate_matched_probe(),
                };
                if let Some(found) = probe {
                    return found;
                }
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(2));
            }
        }

        fn send_bytes(&self, to: usize, bytes: &[u8], tag: i32) {
            self.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            self.world
                .process_at_rank(to as i32)
                .send_with_tag(bytes, tag);
        }

        /// The root's side of `map`.
        fn serve<I, O>(
            &self,
            items: &[I],
            first: usize,
            chunk: usize,
            f: &(dyn Fn(&I) -> O + Sync),
        ) -> Result<Vec<O>>
        where
            I: Serialize + Sync,
            O: DeserializeOwned + Send,
        {
            let n_chunks = items.len().div_ceil(chunk);
            let next = AtomicUsize::new(0);
            let halt = AtomicBool::new(false);
            let slots: Mutex<Vec<Option<Vec<O>>>> =
                Mutex::new((0..n_chunks).map(|_| None).collect());
            let failure: Mutex<Option<ItemFailure>> = Mutex::new(None);

            let record_failure = |fail: ItemFailure| {
                halt.store(true, Ordering::SeqCst);
                let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
                if slot.as_ref().is_none_or(|old| fail.item < old.item) {
                    *slot = Some(fail);
                }
            };
            let store = |c: usize, out: Vec<O>| {
                let mut s = slots.lock().unwrap_or_else(|p| p.into_inner());
                s[c] = Some(out);
            };
            let take_chunk = || -> Option<usize> {
                if halt.load(Ordering::SeqCst) {
                    return None;
                }
                let c = next.fetch_add(1, Ordering::SeqCst);
                (c < n_chunks).then_some(c)
            };
            let chunk_range = |c: usize| c * chunk..((c + 1) * chunk).min(items.len());

            // Hand worker `w` its next chunk; false when it was told to stop.
            let feed = |w: usize| -> bool {
                while let Some(c) = take_chunk() {
                    let r = chunk_range(c);
                    let msg = WorkOut {
                        chunk: c as u64,
                        offset: (first + r.start) as u64,
                        items: &items[r.clone()],
                    };
                    match encode(&msg).and_then(fits_in_message) {
                        Ok(bytes) => {
                            self.send_bytes(w, &bytes, TAG_WORK);
                            return true;
                        }
                        Err(e) => record_failure(ItemFailure {
                            item: (first + r.start) as u64,
                            rank: 0,
                            message: e.to_string(),
                        }),
                    }
                }
                self.send_bytes(w, &[], TAG_STOP);
                false
            };

            std::thread::scope(|scope| {
                if self.root_computes || self.size == 1 {
                    // The thread borrows only the pool, never the communicator.
                    let pool = self.pool.as_deref();
                    let (take_chunk, chunk_range, store, record_failure) =
                        (&take_chunk, &chunk_range, &store, &record_failure);
                    scope.spawn(move || {
                        while let Some(c) = take_chunk() {
                            let r = chunk_range(c);
                            match run_chunk(pool, &items[r.clone()], first + r.start, 0, f) {
                                Ok(out) => store(c, out),
                                Err(fail) => record_failure(fail),
                            }
                        }
                    });
                }
                let mut active = 0usize;
                for w in 1..self.size {
                    if feed(w) {
                        active += 1;
                    }
                }
                while active > 0 {
                    let (msg, status) = self.wait_message(None);
                    let from = usize::try_from(status.source_rank()).unwrap_or(0);
                    let (bytes, _) = (msg, status).matched_receive_vec::<u8>();
                    self.received
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    if status.tag() != TAG_RESULT {
                        record_failure(ItemFailure {
                            item: 0,
                            rank: from as u64,
                            message: format!(
                                "unexpected MPI message with tag {} from rank {from}",
                                status.tag()
                            ),
                        });
                    } else {
                        match decode::<Answer<O>>(&bytes) {
                            Ok(Answer {
                                chunk: c,
                                outcome: Ok(out),
                            }) => {
                                let c = c as usize;
                                let expected = chunk_range(c).len();
                                if c >= n_chunks || out.len() != expected {
                                    record_failure(ItemFailure {
                                        item: (first + c * chunk) as u64,
                                        rank: from as u64,
                                        message: format!(
                                            "rank {from} answered chunk {c} with {} outputs, expected {expected}",
                                            out.len()
                                        ),
                                    });
                                } else {
                                    store(c, out);
                                }
                            }
                            Ok(Answer {
                                outcome: Err(fail), ..
                            }) => record_failure(fail),
                            Err(e) => record_failure(ItemFailure {
                                item: 0,
                                rank: from as u64,
                                message: e.to_string(),
                            }),
                        }
                    }
                    if !feed(from) {
                        active -= 1;
                    }
                }
            });

            if let Some(fail) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
                return Err(fail.into_error());
            }
            let slots = slots.into_inner().unwrap_or_else(|p| p.into_inner());
            let mut out = Vec::with_capacity(items.len());
            for (c, slot) in slots.into_iter().enumerate() {
                match slot {
                    Some(part) => out.extend(part),
                    None => {
                        return Err(Error::Other(format!(
                            "MPI map: chunk {c} (items from {}) was never computed",
                            first + c * chunk
                        )))
                    }
                }
            }
            Ok(out)
        }

        /// A worker's side of `map`: run chunks until rank 0 says stop.
        fn work<I, O>(&self, f: &(dyn Fn(&I) -> O + Sync))
        where
            I: DeserializeOwned + Sync,
            O: Serialize + Send,
        {
            loop {
                let (msg, status) = self.wait_message(Some(0));
                let (bytes, _) = (msg, status).matched_receive_vec::<u8>();
                self.received
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                if status.tag() == TAG_STOP {
                    return;
                }
                let answer = match decode::<WorkIn<I>>(&bytes) {
                    Ok(work) => {
                        let offset = work.offset as usize;
                        Answer {
                            chunk: work.chunk,
                            outcome: run_chunk(
                                self.pool.as_deref(),
                                &work.items,
                                offset,
                                self.rank,
                                f,
                            ),
                        }
                    }
                    Err(e) => Answer {
                        chunk: u64::MAX,
                        outcome: Err(ItemFailure {
                            item: 0,
                            rank: self.rank as u64,
                            message: e.to_string(),
                        }),
                    },
                };
                let chunk = answer.chunk;
                let bytes = encode(&answer).and_then(fits_in_message).or_else(|e| {
                    let fallback: Answer<O> = Answer {
                        chunk,
                        outcome: Err(ItemFailure {
                            item: 0,
                            rank: self.rank as u64,
                            message: e.to_string(),
                        }),
                    };
                    encode(&fallback)
                });
                // Encoding an `Err` answer (integers and a string) cannot fail.
                let bytes = bytes.unwrap_or_default();
                self.send_bytes(0, &bytes, TAG_RESULT);
            }
        }
    }

    /// MPI counts are C ints: refuse messages of 2 GiB or more with a clear error.
    fn fits_in_message(bytes: Vec<u8>) -> Result<Vec<u8>> {
        if bytes.len() > i32::MAX as usize {
            return Err(Error::Other(format!(
                "a message of {} bytes is too large for MPI; use a smaller chunk size",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    impl Engine for MpiEngine {
        fn rank(&self) -> usize {
            self.rank
        }

        fn size(&self) -> usize {
            self.size
        }

        fn name(&self) -> &'static str {
            "mpi"
        }

        fn map_offset<I, O>(
            &self,
            items: &[I],
            first: usize,
            chunk: usize,
            f: &(dyn Fn(&I) -> O + Sync),
        ) -> Result<Option<Vec<O>>>
        where
            I: Serialize + DeserializeOwned + Sync,
            O: Serialize + DeserializeOwned + Send,
        {
            // Every rank checks the same argument, so all of them leave together.
            check_chunk(chunk)?;
            // Rank 0 ends every map by telling all ranks whether it succeeded,
            // so that after a failure every rank returns an error together and
            // no rank waits in a later collective call that the others skip.
            if self.rank == 0 {
                let gathered = self.serve(items, first, chunk, f);
                let verdict: Option<String> = gathered.as_ref().err().map(|e| e.to_string());
                self.broadcast(Some(verdict))?;
                gathered.map(Some)
            } else {
                self.work(f);
                match self.broadcast::<Option<String>>(None)? {
                    None => Ok(None),
                    Some(message) => Err(Error::Other(format!(
                        "the distributed map failed (reported by rank 0): {message}"
                    ))),
                }
            }
        }

        /// Rank 0 sends the value to every rank point to point; the others
        /// wait for it by polling with a short sleep (like the workers of
        /// `map`), so ranks idling between maps while rank 0 runs serial work
        /// (an optimiser step, writing outputs) leave the cores to it.
        fn broadcast<T: Serialize + DeserializeOwned>(&self, value: Option<T>) -> Result<T> {
            if self.rank == 0 {
                let payload = match value.as_ref() {
                    Some(v) => encode(v).and_then(fits_in_message),
                    None => Err(Error::Other(
                        "broadcast: rank 0 gave no value to send".into(),
                    )),
                };
                let (bytes, tag) = match &payload {
                    Ok(b) => (b.clone(), TAG_BCAST),
                    Err(e) => (e.to_string().into_bytes(), TAG_BCAST_FAIL),
                };
                for w in 1..self.size {
                    self.send_bytes(w, &bytes, tag);
                }
                payload?;
                return value
                    .ok_or_else(|| Error::Other("broadcast: rank 0 gave no value to send".into()));
            }
            let (msg, status) = self.wait_message(Some(0));
            let (bytes, _) = (msg, status).matched_receive_vec::<u8>();
            self.received
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            match status.tag() {
                TAG_BCAST => decode(&bytes),
                TAG_BCAST_FAIL => Err(Error::Other(format!(
                    "rank 0 could not send its value: {}",
                    String::from_utf8_lossy(&bytes)
                ))),
                t => Err(Error::Other(format!(
                    "broadcast: unexpected MPI message with tag {t} from rank 0"
                ))),
            }
        }

        fn barrier(&self) {
            self.world.barrier();
        }

        fn traffic(&self) -> (u64, u64) {
            (
                self.sent.load(Ordering::Relaxed),
                self.received.load(Ordering::Relaxed),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_range_covers_items_in_balanced_contiguous_tiles() {
        for n_items in [0usize, 1, 2, 7, 10, 13_113] {
            for n_tiles in 1..=9usize {
                let mut next = 0;
                let mut sizes = Vec::new();
                for t in 0..n_tiles {
                    let r = tile_range(n_items, t, n_tiles);
                    assert_eq!(
                        r.start, next,
                        "gap or overlap at tile {t}/{n_tiles} of {n_items}"
                    );
                    next = r.end;
                    sizes.push(r.len());
                }
                assert_eq!(next, n_items);
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "unbalanced tiles {sizes:?}");
            }
        }
    }

    #[test]
    fn tile_range_known_values() {
        // 10 items over 3 tiles: 4, 3, 3.
        assert_eq!(tile_range(10, 0, 3), 0..4);
        assert_eq!(tile_range(10, 1, 3), 4..7);
        assert_eq!(tile_range(10, 2, 3), 7..10);
        // More tiles than items: the last tiles are empty.
        assert_eq!(tile_range(2, 0, 4), 0..1);
        assert_eq!(tile_range(2, 1, 4), 1..2);
        assert_eq!(tile_range(2, 3, 4), 2..2);
        // Out-of-range tile and zero tiles do not panic.
        assert_eq!(tile_range(10, 3, 3), 10..10);
        assert_eq!(tile_range(10, 0, 0), 0..10);
    }

    #[test]
    fn parse_tile_accepts_one_based_tiles() {
        assert_eq!(parse_tile("1/4").unwrap(), Tile { index: 1, count: 4 });
        assert_eq!(parse_tile(" 4 / 4 ").unwrap(), Tile { index: 4, count: 4 });
        assert_eq!("3/8".parse::<Tile>().unwrap().to_string(), "3/8");
        assert_eq!(parse_tile("2/3").unwrap().range(10), 4..7);
        assert_eq!(Tile::WHOLE.range(5), 0..5);
    }

    #[test]
    fn parse_tile_rejects_bad_text_with_clear_messages() {
        for (text, fragment) in [
            ("0/4", "numbered from 1"),
            ("5/4", "out of range"),
            ("3", "no `/`"),
            ("a/4", "tile number is not a whole number"),
            ("1/b", "tile count is not a whole number"),
            ("1/0", "at least 1"),
            ("-1/4", "not a whole number"),
        ] {
            let msg = parse_tile(text).unwrap_err().to_string();
            assert!(msg.contains(text), "{msg} should quote {text}");
            assert!(msg.contains(fragment), "{msg} should say {fragment}");
        }
        assert!(Tile::new(0, 3).is_err());
        assert!(Tile::new(2, 0).is_err());
        assert_eq!(Tile::new(3, 3).unwrap().range(9), 6..9);
    }

    #[test]
    fn codec_round_trips_floats_bit_for_bit() {
        let values = vec![
            0.1f64,
            -0.0,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::NAN,
            f64::from_bits(0x7ff8_0000_dead_beef),
            f64::NEG_INFINITY,
            1.0 / 3.0,
        ];
        let back: Vec<f64> = decode(&encode(&values).unwrap()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&values));
        let r: Vec<std::result::Result<(u32, f32), String>> =
            vec![Ok((3, 2.5)), Err("cell 7: solver diverged".into())];
        let back: Vec<std::result::Result<(u32, f32), String>> =
            decode(&encode(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(decode::<Vec<f64>>(&[0xff]).is_err());
    }

    #[test]
    fn local_engine_keeps_item_order_and_is_thread_count_independent() {
        let items: Vec<u64> = (0..1000).collect();
        let f = |x: &u64| -> std::result::Result<f64, String> {
            if x % 97 == 13 {
                Err(format!("item {x} failed"))
            } else {
                Ok((*x as f64).sqrt().sin())
            }
        };
        let one = LocalEngine::new(Some(1))
            .unwrap()
            .map(&items, 7, &f)
            .unwrap()
            .unwrap();
        let two = LocalEngine::new(Some(2))
            .unwrap()
            .map(&items, 1, &f)
            .unwrap()
            .unwrap();
        let serial: Vec<_> = items.iter().map(f).collect();
        assert_eq!(encode(&one).unwrap(), encode(&serial).unwrap());
        assert_eq!(encode(&two).unwrap(), encode(&serial).unwrap());
        assert!(matches!(one[13], Err(ref m) if m == "item 13 failed"));
    }

    #[test]
    fn local_engine_reports_a_panic_as_an_error_naming_the_item() {
        let engine = LocalEngine::new(Some(2)).unwrap();
        let items: Vec<u32> = (0..50).collect();
        let f = |x: &u32| -> u32 {
            if *x == 31 || *x == 40 {
                panic!("bad cell {x}");
            }
            x * 2
        };
        let err = engine.map(&items, 4, &f).unwrap_err().to_string();
        assert!(err.contains("item 31"), "{err}");
        assert!(err.contains("bad cell 31"), "{err}");
        assert!(engine.map(&items, 0, &|x: &u32| *x).is_err());
    }

    #[test]
    fn local_broadcast_and_engine_choice() {
        let e = engine_from_flag(false, Some(1)).unwrap();
        assert_eq!(
            (e.rank(), e.size(), e.name(), e.is_root()),
            (0, 1, "local", true)
        );
        assert_eq!(
            e.broadcast(Some(vec![1.5f64, 2.5])).unwrap(),
            vec![1.5, 2.5]
        );
        assert!(e.broadcast::<u8>(None).is_err());
        assert!(engine_from_flag(false, Some(0)).is_err());
        #[cfg(not(feature = "mpi"))]
        {
            let msg = engine_from_flag(true, None).unwrap_err().to_string();
            assert!(msg.contains("--features mpi"), "{msg}");
        }
    }
}
