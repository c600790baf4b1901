//! An engine reference that may sit inside objects shared between threads
//! (a calibration objective must be `Sync`) while the engine itself is only
//! used on the thread that created the handle.
//!
//! MPI is initialised with funnelled threading: only the main thread may call
//! it, and the MPI engine is neither `Send` nor `Sync`. The handle hands the
//! engine out on its creating thread only and answers an error elsewhere.

use std::thread::ThreadId;

use super::AnyEngine;
use crate::{Error, Result};

/// A reference to an [`AnyEngine`], usable only on the thread that made it.
pub struct EngineHandle<'a> {
    engine: &'a AnyEngine,
    owner: ThreadId,
}

// SAFETY: the engine is reached only through `get`, which returns it on the
// thread that created the handle and an error on every other thread; the
// `&AnyEngine` it returns is not `Send` (the MPI engine is not `Sync`), so it
// cannot leave that thread either. Other threads only read the `ThreadId`.
#[cfg(feature = "mpi")]
unsafe impl Sync for EngineHandle<'_> {}

impl<'a> EngineHandle<'a> {
    /// A handle bound to the current thread.
    pub fn new(engine: &'a AnyEngine) -> Self {
        EngineHandle {
            engine,
            owner: std::thread::current().id(),
        }
    }

    /// The engine, on the thread that created the handle.
    pub fn get(&self) -> Result<&'a AnyEngine> {
        if std::thread::current().id() == self.owner {
            Ok(self.engine)
        } else {
            Err(Error::Other(
                "the distributed engine was used off the thread that started it".into(),
            ))
        }
    }
}

impl std::fmt::Debug for EngineHandle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("engine", self.engine)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AnyEngine, Engine, LocalEngine};
    use super::*;

    #[test]
    fn the_engine_is_only_handed_out_on_its_own_thread() {
        let engine = AnyEngine::Local(LocalEngine::new(Some(1)).unwrap());
        let handle = EngineHandle::new(&engine);
        assert_eq!(handle.get().unwrap().name(), "local");
        std::thread::scope(|s| {
            let h = &handle;
            let msg = s
                .spawn(move || h.get().map(|_| ()).unwrap_err().to_string())
                .join()
                .unwrap();
            assert!(msg.contains("off the thread"), "{msg}");
        });
    }
}
