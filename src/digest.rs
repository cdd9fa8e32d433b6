//! One pass over a layer's bytes: as they arrive they are hashed (the blob
//! digest), written once to their destination, and at the same time
//! decompressed (gzip, zstd or none) into a second hash (the diff_id).
//! Nothing is read back from disk to be verified.

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

/// How a layer's bytes are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From an OCI or Docker layer media type; `None` when the type does not
    /// say (then [`Compression::sniff`] decides).
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let m = media_type.trim();
        if m.ends_with("+zstd") {
            Some(Compression::Zstd)
        } else if m.ends_with("+gzip") || m.ends_with(".tar.gzip") {
            Some(Compression::Gzip)
        } else if m.ends_with(".tar") || m.ends_with("diff.tar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// From the first bytes of the stream (magic numbers).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b, 0x08]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A `sha256:<hex>` digest and the number of bytes it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digested {
    pub digest: String,
    pub size: u64,
}

impl fmt::Display for Digested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digest)
    }
}

/// A writer that only hashes and counts.
#[derive(Clone, Default)]
pub struct Sha256Writer {
    hasher: Sha256,
    size: u64,
}

impl Sha256Writer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> Digested {
        Digested {
            digest: format!("sha256:{}", hex::encode(self.hasher.finalize())),
            size: self.size,
        }
    }
}

impl Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// sha256 of a byte slice as `sha256:<hex>`.
pub fn sha256_of(data: &[u8]) -> String {
    let mut w = Sha256Writer::new();
    w.hasher.update(data);
    w.finish().digest
}

enum Decoder {
    /// Compression not known yet: the first bytes decide.
    Undecided(Vec<u8>),
    None(Sha256Writer),
    Gzip(Box<flate2::write::MultiGzDecoder<Sha256Writer>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Sha256Writer>>),
}

/// Bytes needed to recognise a compression by its magic number.
const SNIFF_LEN: usize = 4;

/// Hashes a layer's compressed bytes, writes them to `out`, and hashes
/// their decompressed form, in one pass.
pub struct LayerDigester<W: Write> {
    out: W,
    blob: Sha256Writer,
    decoder: Decoder,
    /// The first decompression error: decoding stops, but the bytes are
    /// still written and hashed, so a bad blob is told by its digest.
    decode_error: Option<io::Error>,
}

/// The two digests of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerDigests {
    /// Of the bytes as stored (the manifest's layer digest).
    pub blob: Digested,
    /// Of the uncompressed tar (the config's diff_id).
    pub diff: Digested,
}

impl<W: Write> LayerDigester<W> {
    /// `compression`: what the media type says, or `None` to sniff.
    pub fn new(out: W, compression: Option<Compression>) -> io::Result<Self> {
        let decoder = match compression {
            Some(c) => Self::decoder_for(c)?,
            None => Decoder::Undecided(Vec::with_capacity(SNIFF_LEN)),
        };
        Ok(LayerDigester {
            out,
            blob: Sha256Writer::new(),
            decoder,
            decode_error: None,
        })
    }

    fn decoder_for(c: Compression) -> io::Result<Decoder> {
        Ok(match c {
            Compression::None => Decoder::None(Sha256Writer::new()),
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(
                Sha256Writer::new(),
            ))),
            Compression::Zstd => Decoder::Zstd(Box::new(zstd::stream::write::Decoder::new(
                Sha256Writer::new(),
            )?)),
        })
    }

    /// Compressed bytes taken so far (where a resume continues from).
    pub fn received(&self) -> u64 {
        self.blob.size()
    }

    fn decode(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.decoder {
            Decoder::Undecided(head) => {
                head.extend_from_slice(data);
                if head.len() >= SNIFF_LEN {
                    let head = std::mem::take(head);
                    self.decoder = Self::decoder_for(Compression::sniff(&head))?;
                    self.decode(&head)?;
                }
                Ok(())
            }
            Decoder::None(w) => w.write_all(data),
            Decoder::Gzip(d) => d.write_all(data).map_err(|e| corrupt("gzip", e)),
            Decoder::Zstd(d) => d.write_all(data).map_err(|e| corrupt("zstd", e)),
        }
    }

    /// Ends the stream. The blob digest is always known; the diff digest
    /// is an error when the compressed stream is truncated or corrupt.
    pub fn finish(mut self) -> io::Result<Finished<W>> {
        self.out.flush()?;
        let blob = self.blob.finish();
        let diff = match self.decode_error.take() {
            Some(e) => Err(e),
            None => Self::finish_decoder(self.decoder),
        };
        Ok(Finished {
            blob,
            diff,
            out: self.out,
        })
    }

    fn finish_decoder(decoder: Decoder) -> io::Result<Digested> {
        let diff = match decoder {
            Decoder::Undecided(head) => {
                // fewer bytes than a magic number: decide on what there is
                let mut d = Self::decoder_for(Compression::sniff(&head))?;
                if let Decoder::None(w) = &mut d {
                    w.write_all(&head)?;
                }
                return Self::finish_decoder(d);
            }
            Decoder::None(w) => w,
            Decoder::Gzip(mut d) => {
                d.try_finish().map_err(|e| corrupt("gzip", e))?;
                d.finish().map_err(|e| corrupt("gzip", e))?
            }
            // zstd's streaming writer cannot tell a cut frame from a whole
            // one; a cut frame changes the blob digest, which callers verify.
            Decoder::Zstd(mut d) => {
                d.flush().map_err(|e| corrupt("zstd", e))?;
                d.into_inner()
            }
        };
        Ok(diff.finish())
    }
}

/// What [`LayerDigester::finish`] gives.
pub struct Finished<W> {
    pub blob: Digested,
    pub diff: io::Result<Digested>,
    pub out: W,
}

impl<W> Finished<W> {
    /// Both digests, or the decompression error.
    pub fn digests(&self) -> io::Result<LayerDigests> {
        match &self.diff {
            Ok(diff) => Ok(LayerDigests {
                blob: self.blob.clone(),
                diff: diff.clone(),
            }),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

fn corrupt(kind: &str, e: io::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("invalid {kind} data: {e}"),
    )
}

impl<W: Write> Write for LayerDigester<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.write_all(data)?;
        self.blob.write_all(data)?;
        if self.decode_error.is_none()
            && let Err(e) = self.decode(data)
        {
            self.decode_error = Some(e);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression as Level;
    use flate2::write::GzEncoder;

    fn tar_like() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Level::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn run(
        blob: &[u8],
        compression: Option<Compression>,
        chunk: usize,
    ) -> io::Result<(LayerDigests, Vec<u8>)> {
        let mut d = LayerDigester::new(Vec::new(), compression)?;
        for piece in blob.chunks(chunk) {
            d.write_all(piece)?;
        }
        let f = d.finish()?;
        Ok((f.digests()?, f.out))
    }

    #[test]
    fn gzip_zstd_and_plain_give_blob_and_diff_digests() {
        let plain = tar_like();
        let zst = zstd::encode_all(&plain[..], 3).unwrap();
        for (blob, c) in [
            (gzip(&plain), Some(Compression::Gzip)),
            (zst.clone(), Some(Compression::Zstd)),
            (plain.clone(), Some(Compression::None)),
            (gzip(&plain), None),
            (zst, None),
            (plain.clone(), None),
        ] {
            for chunk in [1, 7, 16 * 1024, blob.len()] {
                if chunk == 1 && blob.len() > 200_000 {
                    continue;
                }
                let (d, out) = run(&blob, c, chunk).unwrap();
                assert_eq!(out, blob, "bytes written once, unchanged");
                assert_eq!(d.blob.digest, sha256_of(&blob));
                assert_eq!(d.blob.size, blob.len() as u64);
                assert_eq!(d.diff.digest, sha256_of(&plain), "{c:?} chunk {chunk}");
                assert_eq!(d.diff.size, plain.len() as u64);
            }
        }
    }

    #[test]
    fn multi_member_gzip_is_one_stream() {
        let (a, b) = (b"first member ".repeat(1000), b"second".repeat(1000));
        let mut blob = gzip(&a);
        blob.extend(gzip(&b));
        let (d, _) = run(&blob, Some(Compression::Gzip), 4096).unwrap();
        assert_eq!(d.diff.digest, sha256_of(&[a, b].concat()));
    }

    #[test]
    fn truncated_or_corrupt_gzip_fails() {
        let blob = gzip(&tar_like());
        assert!(run(&blob[..blob.len() / 2], Some(Compression::Gzip), 4096).is_err());
        let mut bad = blob.clone();
        bad[100] ^= 0xff;
        bad[101] ^= 0xff;
        assert!(run(&bad, Some(Compression::Gzip), 4096).is_err());
    }

    #[test]
    fn media_types_and_magic() {
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar"),
            Some(Compression::None)
        );
        assert_eq!(
            Compression::from_media_type("application/octet-stream"),
            None
        );
        assert_eq!(Compression::sniff(b"test"), Compression::None);
        // schema1's fixture layer is the 4 bytes "test": plain, diff == blob
        let (d, _) = run(b"test", None, 1).unwrap();
        assert_eq!(d.diff, d.blob);
        assert_eq!(
            d.blob.digest,
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }
}
