//! A process-wide memo for what a sidecar derives from its configuration and credentials and
//! then reuses (a loaded key, a TLS context, a peer certificate's identity), keyed by a SHA-256
//! of every input. Its values are pure functions of their key, so a hit changes no outcome and
//! determinism does not depend on it; it is shared by every mesh of the process (scenarios run
//! in parallel). It is bounded: past [`CAPACITY`] entries it starts over.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Entries kept at most (a mesh has a few per sidecar).
const CAPACITY: usize = 4096;

/// A SHA-256 digest of everything a memoized value is built from.
pub(crate) type Digest = [u8; 32];

/// Memoized values by the digest of their inputs.
pub(crate) struct Memo<V>(OnceLock<Mutex<HashMap<Digest, V>>>);

impl<V: Clone> Memo<V> {
    /// An empty memo (for a `static`).
    pub(crate) const fn new() -> Self {
        Memo(OnceLock::new())
    }

    fn map(&self) -> MutexGuard<'_, HashMap<Digest, V>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
        self.0
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The value for `key`, built by `build` on a miss. Only successes are kept: an error is
    /// built (and returned) every time.
    pub(crate) fn get_or_try<E>(
        &self,
        key: Digest,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some(hit) = self.map().get(&key) {
            return Ok(hit.clone());
        }
        let value = build()?;
        let mut map = self.map();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, value.clone());
        Ok(value)
    }
}
