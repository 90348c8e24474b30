//! The last few inputs a sidecar hashed, with their digests, compared whole: a request hashes
//! the same certificates, bundle and peer leaf as the request before it, and comparing a few
//! kilobytes is much cheaper than hashing them again (SHA-256 of both sidecars' TLS material
//! and of the peer leaf was about 1 % of a fresh request, `docs/performance.md`, session 10).
//! A hit is exact (the stored input equals the new one), so it changes no outcome.

use std::collections::VecDeque;

/// Entries kept per thread: enough for the sidecars of a scenario's requests.
const CAPACITY: usize = 32;

/// Recently seen inputs and what was derived from them, most recent first.
pub(crate) struct Recent<K, V>(VecDeque<(K, V)>);

impl<K, V: Clone> Recent<K, V> {
    /// An empty list (for a `thread_local!`).
    pub(crate) const fn new() -> Self {
        Recent(VecDeque::new())
    }

    /// The value derived from an input that `same` finds equal to the one wanted, else
    /// `derive`'s, remembered with `owned()`.
    pub(crate) fn get_or_insert(
        &mut self,
        same: impl Fn(&K) -> bool,
        owned: impl FnOnce() -> K,
        derive: impl FnOnce() -> V,
    ) -> V {
        if let Some(i) = self.0.iter().position(|(k, _)| same(k)) {
            let hit = self.0[i].1.clone();
            if let Some(entry) = self.0.remove(i) {
                self.0.push_front(entry);
            }
            return hit;
        }
        let value = derive();
        if self.0.len() >= CAPACITY {
            self.0.pop_back();
        }
        self.0.push_front((owned(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_returns_the_stored_value_and_a_miss_derives_and_keeps_a_bounded_list() {
        let mut r: Recent<Vec<u8>, u32> = Recent::new();
        let get = |r: &mut Recent<Vec<u8>, u32>, key: &[u8], value: u32| {
            r.get_or_insert(|k| k.as_slice() == key, || key.to_vec(), || value)
        };
        assert_eq!(get(&mut r, b"a", 1), 1);
        assert_eq!(get(&mut r, b"a", 2), 1, "an equal input hits");
        assert_eq!(get(&mut r, b"b", 3), 3);
        for i in 0..(CAPACITY as u32) {
            get(&mut r, &i.to_be_bytes(), i);
        }
        assert_eq!(get(&mut r, b"a", 9), 9, "the oldest entry was dropped");
        assert_eq!(r.0.len(), CAPACITY);
    }
}
