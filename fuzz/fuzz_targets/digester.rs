//! The one-pass layer digester on any byte stream: byte 0 says what the
//! media type claims (bits 0-1: sniff, none, gzip, zstd) and what the
//! destination gets (bit 2: the blob or the tar), byte 1 the size of the
//! chunks libcurl would hand over; the rest is the blob.
#![no_main]

use std::io::Write;

use isula_registry::digest::{Compression, LayerDigester, LayerFile, Sha256Writer, sha256_of};
use libfuzzer_sys::fuzz_target;

type Outcome = (
    String,
    u64,
    Option<String>,
    Option<Compression>,
    Option<String>,
);

/// Feeds `blob` in chunks of `chunk` bytes; the digests, and what the
/// destination received (its digest).
fn digest(blob: &[u8], claim: Option<Compression>, file: LayerFile, chunk: usize) -> Outcome {
    let mut d = LayerDigester::new(Sha256Writer::new(), claim, file).expect("a digester");
    for part in blob.chunks(chunk) {
        d.write_all(part).expect("the digester takes every byte");
    }
    let finished = d.finish().expect("finish");
    let diff = finished.diff.as_ref().ok().map(|d| d.digest.clone());
    let compression = finished.diff.as_ref().ok().map(|_| finished.compression);
    // after a decoding error, how much of the tar got out depends on
    // where the chunks were cut: only a good stream's output is compared
    let written = finished
        .out
        .filter(|_| diff.is_some() || file == LayerFile::Blob)
        .map(|w| w.finish().digest);
    (
        finished.blob.digest,
        finished.blob.size,
        diff,
        compression,
        written,
    )
}

fuzz_target!(|data: &[u8]| {
    let [mode, chunk, blob @ ..] = data else {
        return;
    };
    let claim = match mode & 3 {
        0 => None,
        1 => Some(Compression::None),
        2 => Some(Compression::Gzip),
        _ => Some(Compression::Zstd),
    };
    let file = if mode & 4 == 0 {
        LayerFile::Blob
    } else {
        LayerFile::Tar
    };
    let chunk = usize::from(*chunk).max(1);
    let whole = digest(blob, claim, file, blob.len().max(1));
    let (blob_digest, size, diff, _, written) = &whole;
    assert_eq!(
        blob_digest,
        &sha256_of(blob),
        "the blob digest is of the bytes"
    );
    assert_eq!(*size, blob.len() as u64);
    match (file, diff) {
        (LayerFile::Blob, _) => assert_eq!(
            written.as_ref(),
            Some(blob_digest),
            "the blob is written as served"
        ),
        (LayerFile::Tar, Some(diff)) => assert_eq!(
            written.as_ref(),
            Some(diff),
            "the tar written is the one hashed"
        ),
        (LayerFile::Tar, None) => {}
    }
    if claim == Some(Compression::None) {
        assert_eq!(
            diff.as_ref(),
            Some(blob_digest),
            "an uncompressed layer is its own tar"
        );
    }
    // however the bytes are cut, the same digests
    assert_eq!(digest(blob, claim, file, chunk), whole, "chunks of {chunk}");
});
