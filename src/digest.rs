//! One pass over a layer's bytes: as they arrive they are hashed (the blob
//! digest) and at the same time decompressed (gzip, zstd or none) into a
//! second hash (the diff_id), and written once to their destination: the
//! bytes as served, or the uncompressed tar they decompress to. Nothing is
//! read back from disk to be verified.

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Write};
use std::mem;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

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

/// The blob's sha256: on the download's thread, or on a thread of its own.
enum BlobHash {
    Here(Sha256Writer),
    Beside(Beside),
}

impl BlobHash {
    fn size(&self) -> u64 {
        match self {
            BlobHash::Here(w) => w.size(),
            BlobHash::Beside(b) => b.size,
        }
    }

    fn finish(self) -> io::Result<Digested> {
        match self {
            BlobHash::Here(w) => Ok(w.finish()),
            BlobHash::Beside(b) => b.finish(),
        }
    }
}

impl Write for BlobHash {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            BlobHash::Here(w) => w.write(buf),
            BlobHash::Beside(b) => b.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes handed to the hashing thread at a time: with the two in the
/// channel and the one being hashed, a layer holds 4 of them.
const BESIDE_CHUNK: usize = 64 << 10;

/// How many chunks the hashing thread hashes between two looks at its
/// download thread's priority.
const FOLLOW_EVERY: usize = 16;

/// A thread that hashes the blob while the download's thread decompresses
/// it and hashes the tar: one layer then uses two cores instead of one.
/// It takes its download thread's priority as that changes (see
/// pull::priority).
struct Beside {
    chunks: Option<SyncSender<Vec<u8>>>,
    /// Chunks the thread is done with, to be filled again.
    spare: Receiver<Vec<u8>>,
    filling: Vec<u8>,
    thread: Option<JoinHandle<Sha256Writer>>,
    size: u64,
}

impl Beside {
    fn spawn() -> io::Result<Beside> {
        let (chunks, incoming) = mpsc::sync_channel::<Vec<u8>>(2);
        let (back, spare) = mpsc::channel();
        let download = rustix::thread::gettid();
        let thread = thread::Builder::new().spawn(move || {
            let mut hash = Sha256Writer::new();
            for (n, chunk) in incoming.into_iter().enumerate() {
                if n % FOLLOW_EVERY == 0 {
                    follow_priority(download);
                }
                hash.hasher.update(&chunk);
                hash.size += chunk.len() as u64;
                // the download may have finished: then nobody wants it back
                let _ = back.send(chunk);
            }
            hash
        })?;
        Ok(Beside {
            chunks: Some(chunks),
            spare,
            filling: Vec::with_capacity(BESIDE_CHUNK),
            thread: Some(thread),
            size: 0,
        })
    }

    fn send(&mut self) -> io::Result<()> {
        let next = match self.spare.try_recv() {
            Ok(mut used) => {
                used.clear();
                used
            }
            Err(_) => Vec::with_capacity(BESIDE_CHUNK),
        };
        let full = mem::replace(&mut self.filling, next);
        let gone = || io::Error::other("the thread hashing the blob has ended");
        self.chunks
            .as_ref()
            .ok_or_else(gone)?
            .send(full)
            .map_err(|_| gone())
    }

    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let len = data.len();
        while !data.is_empty() {
            let n = (BESIDE_CHUNK - self.filling.len()).min(data.len());
            self.filling.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.filling.len() == BESIDE_CHUNK {
                self.send()?;
            }
        }
        self.size += len as u64;
        Ok(len)
    }

    fn finish(mut self) -> io::Result<Digested> {
        if !self.filling.is_empty() {
            self.send()?;
        }
        // the thread ends once the channel is closed and empty
        self.chunks = None;
        let hash = self
            .thread
            .take()
            .map(JoinHandle::join)
            .ok_or_else(|| io::Error::other("the blob was hashed already"))?
            .map_err(|_| io::Error::other("the thread hashing the blob panicked"))?;
        Ok(hash.finish())
    }
}

impl Drop for Beside {
    /// A download given up: the thread is told to end, and waited for.
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Gives the calling thread the priority `download` has now.
fn follow_priority(download: rustix::process::Pid) {
    use rustix::process::{getpriority_process, setpriority_process};
    if let (Ok(theirs), Ok(mine)) = (
        getpriority_process(Some(download)),
        getpriority_process(None),
    ) && theirs != mine
    {
        let _ = setpriority_process(None, theirs);
    }
}

/// What the destination of a layer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerFile {
    /// The bytes as served: a store of blobs keeps them.
    Blob,
    /// The uncompressed tar: a store that unpacks layers (iSulad's) then
    /// reads plain tar instead of decompressing each layer again. A working
    /// file, unpacked at once: not synced to disk.
    Tar,
}

/// The end of the decompressed stream: hashed, and written to the
/// destination for [`LayerFile::Tar`].
struct DiffSink<W> {
    hash: Sha256Writer,
    out: Option<W>,
}

impl<W: Write> Write for DiffSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(out) = &mut self.out {
            out.write_all(buf)?;
        }
        self.hash.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

enum Decoder<W: Write> {
    /// Compression not known yet: the first bytes decide.
    Undecided(Vec<u8>, DiffSink<W>),
    None(DiffSink<W>),
    Gzip(Box<flate2::write::MultiGzDecoder<DiffSink<W>>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, DiffSink<W>>>),
    /// Taken out while deciding.
    Gone,
}

/// Bytes needed to recognise a compression by its magic number.
const SNIFF_LEN: usize = 4;

/// Hashes a layer's compressed bytes and their decompressed form, and
/// writes one of the two to the destination, in one pass.
pub struct LayerDigester<W: Write> {
    /// The destination, for [`LayerFile::Blob`] (for `Tar` it sits at the
    /// end of the decoder).
    out: Option<W>,
    blob: BlobHash,
    decoder: Decoder<W>,
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
    /// How the blob was compressed.
    pub compression: Compression,
}

impl<W: Write> LayerDigester<W> {
    /// `compression`: what the media type says, or `None` to sniff;
    /// `file`: what `out` gets.
    pub fn new(out: W, compression: Option<Compression>, file: LayerFile) -> io::Result<Self> {
        let (out, tar_out) = match file {
            LayerFile::Blob => (Some(out), None),
            LayerFile::Tar => (None, Some(out)),
        };
        let sink = DiffSink {
            hash: Sha256Writer::new(),
            out: tar_out,
        };
        let decoder = match compression {
            Some(c) => Self::decoder_for(c, sink)?,
            None => Decoder::Undecided(Vec::with_capacity(SNIFF_LEN), sink),
        };
        Ok(LayerDigester {
            out,
            blob: BlobHash::Here(Sha256Writer::new()),
            decoder,
            decode_error: None,
        })
    }

    fn decoder_for(c: Compression, sink: DiffSink<W>) -> io::Result<Decoder<W>> {
        Ok(match c {
            Compression::None => Decoder::None(sink),
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(sink))),
            Compression::Zstd => Decoder::Zstd(Box::new(zstd::stream::write::Decoder::new(sink)?)),
        })
    }

    /// Hashes the blob on a thread of its own from now on (call it before
    /// the first byte): for a large layer whose download is in a hurry.
    pub fn hash_blob_beside(mut self) -> io::Result<Self> {
        if self.blob.size() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the blob's hash has begun on this thread",
            ));
        }
        self.blob = BlobHash::Beside(Beside::spawn()?);
        Ok(self)
    }

    /// Takes bytes that are at the destination already (the first part of
    /// a download resumed after a crash, read back from disk): hashed and
    /// decompressed into the diff_id like the others, not written again.
    /// Only a [`LayerFile::Blob`] destination holds such bytes.
    pub fn absorb(&mut self, data: &[u8]) -> io::Result<()> {
        if self.out.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "only a blob destination can be resumed",
            ));
        }
        self.blob.write_all(data)?;
        if self.decode_error.is_none()
            && let Err(e) = self.decode(data)
        {
            self.decode_error = Some(e);
        }
        Ok(())
    }

    /// Compressed bytes taken so far (where a resume continues from).
    pub fn received(&self) -> u64 {
        self.blob.size()
    }

    /// The compression found (from the media type or the first bytes).
    fn compression(&self) -> Option<Compression> {
        match &self.decoder {
            Decoder::None(_) => Some(Compression::None),
            Decoder::Gzip(_) => Some(Compression::Gzip),
            Decoder::Zstd(_) => Some(Compression::Zstd),
            Decoder::Undecided(..) | Decoder::Gone => None,
        }
    }

    fn decode(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.decoder {
            Decoder::Undecided(head, _) => {
                head.extend_from_slice(data);
                if head.len() >= SNIFF_LEN {
                    self.decide()?;
                }
                Ok(())
            }
            // a plain tar is its own diff: hashed once, as the blob
            Decoder::None(w) => match &mut w.out {
                Some(out) => out.write_all(data),
                None => Ok(()),
            },
            Decoder::Gzip(d) => d.write_all(data).map_err(|e| corrupt("gzip", e)),
            Decoder::Zstd(d) => d.write_all(data).map_err(|e| corrupt("zstd", e)),
            Decoder::Gone => Ok(()),
        }
    }

    /// Picks the decoder by the bytes seen so far and feeds it them.
    fn decide(&mut self) -> io::Result<()> {
        if !matches!(self.decoder, Decoder::Undecided(..)) {
            return Ok(());
        }
        let Decoder::Undecided(head, sink) = std::mem::replace(&mut self.decoder, Decoder::Gone)
        else {
            unreachable!("checked above");
        };
        self.decoder = Self::decoder_for(Compression::sniff(&head), sink)?;
        self.decode(&head)
    }

    /// Ends the stream. The blob digest is always known; the diff digest
    /// is an error when the compressed stream is truncated or corrupt (and
    /// then a `Tar` destination may not come back).
    pub fn finish(mut self) -> io::Result<Finished<W>> {
        if self.decode_error.is_none() {
            // fewer bytes than a magic number: decide on what there is
            if let Err(e) = self.decide() {
                self.decode_error = Some(e);
            }
        }
        let compression = self.compression().unwrap_or(Compression::None);
        let blob = self.blob.finish()?;
        let (diff, sink_out) = match self.decode_error.take() {
            Some(e) => (Err(e), None),
            None => match Self::finish_decoder(self.decoder, &blob) {
                Ok((diff, out)) => (Ok(diff), out),
                Err(e) => (Err(e), None),
            },
        };
        let mut out = self.out.or(sink_out);
        if let Some(out) = &mut out {
            out.flush()?;
        }
        Ok(Finished {
            blob,
            diff,
            compression,
            out,
        })
    }

    fn finish_decoder(decoder: Decoder<W>, blob: &Digested) -> io::Result<(Digested, Option<W>)> {
        let sink = match decoder {
            Decoder::None(w) => return Ok((blob.clone(), w.out)),
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
            Decoder::Undecided(..) | Decoder::Gone => {
                return Err(io::Error::other(
                    "the layer's compression was never decided",
                ));
            }
        };
        Ok((sink.hash.finish(), sink.out))
    }
}

/// What [`LayerDigester::finish`] gives.
pub struct Finished<W> {
    pub blob: Digested,
    pub diff: io::Result<Digested>,
    pub compression: Compression,
    /// The destination back; `None` only when a `Tar` destination was lost
    /// with a decompression error.
    pub out: Option<W>,
}

impl<W> Finished<W> {
    /// Both digests, or the decompression error.
    pub fn digests(&self) -> io::Result<LayerDigests> {
        match &self.diff {
            Ok(diff) => Ok(LayerDigests {
                blob: self.blob.clone(),
                diff: diff.clone(),
                compression: self.compression,
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
        if let Some(out) = &mut self.out {
            out.write_all(data)?;
        }
        self.blob.write_all(data)?;
        if self.decode_error.is_none()
            && let Err(e) = self.decode(data)
        {
            self.decode_error = Some(e);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
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

    /// `plain` gzipped (as the media type says), zstd'ed and as it is
    /// (both to be sniffed).
    fn three_kinds(plain: &[u8]) -> [(Vec<u8>, Option<Compression>); 3] {
        [
            (gzip(plain), Some(Compression::Gzip)),
            (zstd::encode_all(plain, 3).unwrap(), None),
            (plain.to_vec(), None),
        ]
    }

    fn run_to(
        blob: &[u8],
        compression: Option<Compression>,
        chunk: usize,
        file: LayerFile,
    ) -> io::Result<(LayerDigests, Vec<u8>)> {
        let mut d = LayerDigester::new(Vec::new(), compression, file)?;
        for piece in blob.chunks(chunk) {
            d.write_all(piece)?;
        }
        let f = d.finish()?;
        Ok((f.digests()?, f.out.expect("the destination comes back")))
    }

    fn run(
        blob: &[u8],
        compression: Option<Compression>,
        chunk: usize,
    ) -> io::Result<(LayerDigests, Vec<u8>)> {
        run_to(blob, compression, chunk, LayerFile::Blob)
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
    fn a_tar_destination_gets_the_decompressed_bytes() {
        let plain = tar_like();
        let zst = zstd::encode_all(&plain[..], 3).unwrap();
        for (blob, c, found) in [
            (gzip(&plain), Some(Compression::Gzip), Compression::Gzip),
            (zst.clone(), None, Compression::Zstd),
            (plain.clone(), None, Compression::None),
        ] {
            for chunk in [3, 16 * 1024] {
                let (d, out) = run_to(&blob, c, chunk, LayerFile::Tar).unwrap();
                assert!(out == plain, "{found:?}: the tar, not the blob");
                assert_eq!(d.blob.digest, sha256_of(&blob));
                assert_eq!(d.diff.digest, sha256_of(&plain));
                assert_eq!(d.compression, found);
            }
        }
        // a corrupt stream: the blob digest is still told, the tar is lost
        let mut bad = gzip(&plain);
        bad[100] ^= 0xff;
        bad[101] ^= 0xff;
        let mut d = LayerDigester::new(Vec::new(), None, LayerFile::Tar).unwrap();
        d.write_all(&bad).unwrap();
        let f = d.finish().unwrap();
        assert_eq!(f.blob.digest, sha256_of(&bad));
        assert!(f.diff.is_err() && f.out.is_none());
    }

    #[test]
    fn a_resumed_stream_gives_the_digests_of_the_whole() {
        let plain = tar_like();
        for (blob, c) in three_kinds(&plain) {
            let cuts = [1, 3, 100, blob.len() / 2, blob.len()];
            for cut in cuts.into_iter().filter(|&c| c <= blob.len()) {
                // the first `cut` bytes are on disk already: the destination
                // gets only the rest
                let mut d = LayerDigester::new(Vec::new(), c, LayerFile::Blob).unwrap();
                d.absorb(&blob[..cut]).unwrap();
                assert_eq!(d.received(), cut as u64);
                d.write_all(&blob[cut..]).unwrap();
                let f = d.finish().unwrap();
                let digests = f.digests().unwrap();
                assert_eq!(f.out.unwrap(), &blob[cut..]);
                assert_eq!(digests.blob.digest, sha256_of(&blob));
                assert_eq!(digests.diff.digest, sha256_of(&plain), "{c:?} cut at {cut}");
            }
        }
        let mut tar = LayerDigester::new(Vec::new(), None, LayerFile::Tar).unwrap();
        assert!(
            tar.absorb(b"abc").is_err(),
            "a tar destination holds other bytes"
        );
    }

    /// The blob hashed on a thread of its own gives what one thread gives,
    /// however the bytes come (around the chunk size in particular), for a
    /// fresh stream and a resumed one; a digester given up ends its thread.
    #[test]
    fn the_blob_hashed_beside_gives_the_same_digests() {
        let plain = tar_like();
        for (blob, c) in three_kinds(&plain) {
            let k = BESIDE_CHUNK;
            for chunk in [7, k - 1, k, k + 1, 3 * k + 5, blob.len()] {
                for file in [LayerFile::Blob, LayerFile::Tar] {
                    let mut d = LayerDigester::new(Vec::new(), c, file)
                        .and_then(LayerDigester::hash_blob_beside)
                        .unwrap();
                    for piece in blob.chunks(chunk) {
                        d.write_all(piece).unwrap();
                    }
                    assert_eq!(d.received(), blob.len() as u64);
                    let f = d.finish().unwrap();
                    let (digests, out) = (f.digests().unwrap(), f.out.unwrap());
                    assert_eq!(digests.blob.digest, sha256_of(&blob), "{c:?} chunk {chunk}");
                    assert_eq!(digests.blob.size, blob.len() as u64);
                    assert_eq!(digests.diff.digest, sha256_of(&plain));
                    let expected = if file == LayerFile::Tar {
                        &plain
                    } else {
                        &blob
                    };
                    assert!(out == *expected, "{file:?}: the destination's bytes");
                }
            }
            let cut = blob.len() / 3;
            let mut d = LayerDigester::new(Vec::new(), c, LayerFile::Blob)
                .and_then(LayerDigester::hash_blob_beside)
                .unwrap();
            d.absorb(&blob[..cut]).unwrap();
            d.write_all(&blob[cut..]).unwrap();
            let digests = d.finish().unwrap().digests().unwrap();
            assert_eq!(digests.blob.digest, sha256_of(&blob), "{c:?} resumed");
            assert_eq!(digests.diff.digest, sha256_of(&plain));
        }
        let mut given_up = LayerDigester::new(Vec::new(), None, LayerFile::Blob)
            .and_then(LayerDigester::hash_blob_beside)
            .unwrap();
        given_up.write_all(&[1; 3 * BESIDE_CHUNK]).unwrap();
        drop(given_up);
        let mut begun = LayerDigester::new(Vec::new(), None, LayerFile::Blob).unwrap();
        begun.write_all(b"abc").unwrap();
        assert!(
            begun.hash_blob_beside().is_err(),
            "too late to move the hash"
        );
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
