//! Arrays of plain numbers in the KB snapshot, written as one run of little-endian bytes
//! instead of one postcard varint per element. Reading them back is then a copy, not a
//! decode per number: the snapshot's hundreds of thousands of index numbers (hashes, list
//! bounds, postings, idf values) had cost a one-shot command some 12 M instructions.
//!
//! Use as `#[serde(with = "crate::kb::packed")]` on a `Vec<T>` of a [`Pod`] type. A byte run
//! whose length is not a whole number of elements is refused like any corrupt snapshot.

use serde::de::Visitor;
use serde::{Deserializer, Serializer};

/// A fixed-size plain value with a little-endian byte form.
pub trait Pod: Sized + Copy {
    const SIZE: usize;
    fn put(&self, out: &mut Vec<u8>);
    /// `b` is exactly [`Pod::SIZE`] bytes.
    fn get(b: &[u8]) -> Self;
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// The numbers whose byte form is their own little-endian bytes.
macro_rules! little_endian {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8]) -> Self {
                <$t>::from_le_bytes(array(b))
            }
        }
    )*};
}

little_endian!(u32, u64, f32, f64);

/// As a u32: the snapshot's `usize`s are positions in the KB (entries, terms), far below
/// 2^32. A larger value is written as `u32::MAX`, which no table of the KB can be sound with.
impl Pod for usize {
    const SIZE: usize = 4;
    fn put(&self, out: &mut Vec<u8>) {
        u32::try_from(*self).unwrap_or(u32::MAX).put(out);
    }
    fn get(b: &[u8]) -> Self {
        usize::try_from(u32::get(b)).unwrap_or(usize::MAX)
    }
}

impl<A: Pod, B: Pod> Pod for (A, B) {
    const SIZE: usize = A::SIZE + B::SIZE;
    fn put(&self, out: &mut Vec<u8>) {
        self.0.put(out);
        self.1.put(out);
    }
    fn get(b: &[u8]) -> Self {
        (A::get(&b[..A::SIZE]), B::get(&b[A::SIZE..]))
    }
}

pub fn serialize<T: Pod, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    let mut out = Vec::with_capacity(items.len() * T::SIZE);
    for item in items {
        item.put(&mut out);
    }
    s.serialize_bytes(&out)
}

pub fn deserialize<'de, T: Pod, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    d.deserialize_bytes(Packed(std::marker::PhantomData))
}

struct Packed<T>(std::marker::PhantomData<T>);

impl<T: Pod> Visitor<'_> for Packed<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bytes holding {}-byte values", T::SIZE)
    }

    fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Vec<T>, E> {
        if !b.len().is_multiple_of(T::SIZE) {
            return Err(E::invalid_length(b.len(), &self));
        }
        Ok(b.chunks_exact(T::SIZE).map(T::get).collect())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, b: Vec<u8>) -> Result<Vec<T>, E> {
        self.visit_bytes(&b)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct T {
        #[serde(with = "super")]
        a: Vec<u32>,
        #[serde(with = "super")]
        b: Vec<(u32, f64)>,
        #[serde(with = "super")]
        c: Vec<usize>,
        s: String,
    }

    /// The same layout as `T`, with any bytes in the arrays.
    #[derive(Serialize)]
    struct Raw<'a> {
        #[serde(with = "bytes")]
        a: &'a [u8],
        #[serde(with = "bytes")]
        b: &'a [u8],
        #[serde(with = "bytes")]
        c: &'a [u8],
        s: &'a str,
    }

    mod bytes {
        pub fn serialize<S: serde::Serializer>(b: &&[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b)
        }
    }

    #[test]
    fn round_trips_and_refuses_ragged_bytes() {
        let t = T {
            a: vec![0, 1, u32::MAX],
            b: vec![(7, -0.5), (8, f64::MAX)],
            c: vec![3, 1 << 20],
            s: "x".into(),
        };
        let bytes = postcard::to_allocvec(&t).expect("serialises");
        assert_eq!(postcard::from_bytes::<T>(&bytes).expect("reads back"), t);
        let whole = Raw {
            a: &[1, 0, 0, 0, 2, 0, 0, 0],
            b: &[],
            c: &[],
            s: "y",
        };
        let read: T = postcard::from_bytes(&postcard::to_allocvec(&whole).expect("serialises")).expect("reads");
        assert_eq!(read.a, vec![1, 2]);
        // 11 bytes are not a whole number of u32s.
        let ragged = Raw { a: &[0; 11], ..whole };
        assert!(postcard::from_bytes::<T>(&postcard::to_allocvec(&ragged).expect("serialises")).is_err());
    }
}
