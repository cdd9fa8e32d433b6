//! A tiny `Zeroizing`-like wrapper: secrets are overwritten with zeros when
//! dropped.
//!
//! Safe Rust only: buffers are wiped through their public API and the result
//! is passed through [`std::hint::black_box`] so the stores are not removed as
//! dead writes. This is best effort (copies made by reallocation before the
//! wrapper took ownership cannot be reached), which is why the code building
//! secrets reserves the final capacity up front.

use std::fmt;
use std::hint::black_box;
use std::ops::{Deref, DerefMut};

/// Types whose contents can be overwritten with zeros.
pub trait Wipe {
    /// Overwrite the whole allocation (including spare capacity) with zeros.
    fn wipe(&mut self);
}

impl Wipe for Vec<u8> {
    fn wipe(&mut self) {
        let cap = self.capacity();
        self.clear();
        // Writing zeros up to the capacity never reallocates.
        self.resize(cap, 0);
        black_box(self.as_mut_slice());
        self.clear();
    }
}

impl Wipe for String {
    fn wipe(&mut self) {
        let mut bytes = std::mem::take(self).into_bytes();
        bytes.wipe();
        // An empty vector is always valid UTF-8; keep the (zeroed) allocation.
        *self = String::from_utf8(bytes).unwrap_or_default();
    }
}

impl<const N: usize> Wipe for [u8; N] {
    fn wipe(&mut self) {
        self.fill(0);
        black_box(&mut self[..]);
    }
}

/// Owns a secret and wipes it on drop.
pub struct Secret<T: Wipe>(T);

impl<T: Wipe> Secret<T> {
    /// Wrap `value`; it is wiped when the wrapper is dropped.
    pub fn new(value: T) -> Self {
        Secret(value)
    }
}

impl<T: Wipe + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Secret(self.0.clone())
    }
}

impl<T: Wipe> Deref for Secret<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Wipe> DerefMut for Secret<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Wipe> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

impl<T: Wipe> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_wipe_vec_empties_and_keeps_allocation() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"secret");
        let cap = v.capacity();
        v.wipe();
        assert!(v.is_empty());
        assert_eq!(v.capacity(), cap);
    }

    #[test]
    fn auths_wipe_string_and_array() {
        let mut s = String::from("password");
        s.wipe();
        assert!(s.is_empty());
        let mut a = [7u8; 32];
        a.wipe();
        assert_eq!(a, [0u8; 32]);
        let secret = Secret::new(b"pw".to_vec());
        assert_eq!(&secret[..], b"pw");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }
}
