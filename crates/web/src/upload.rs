//! Request bodies streamed to blocking storage code (the blob store), never held whole
//! in memory, with a size cap; and blobs streamed back out as response bodies.

use std::io::Read;

use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::ApiError;
use crate::run::blocking;

/// Feeds `body` to `store`, which reads it as a `Read` on a blocking thread. A body
/// over `max` bytes fails the read (so nothing partial is kept) and answers 413.
pub async fn receive<T: Send + 'static>(
    body: Body,
    max: u64,
    what: &'static str,
    store: impl FnOnce(&mut dyn Read) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    receive_stream(body.into_data_stream(), max, what, store).await
}

/// [`receive`] for any stream of chunks, such as one part of a multipart body.
pub async fn receive_stream<T: Send + 'static, E: std::fmt::Display>(
    mut stream: impl Stream<Item = Result<Bytes, E>> + Unpin,
    max: u64,
    what: &'static str,
    store: impl FnOnce(&mut dyn Read) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(8);
    let stored = blocking(move || {
        store(&mut ChannelReader {
            rx,
            current: Bytes::new(),
        })
    });
    let feed = async move {
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| e.to_string());
            if let Ok(bytes) = &chunk {
                total += bytes.len() as u64;
                if total > max {
                    let _ = tx.send(Err("too large".into())).await;
                    return false;
                }
            }
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
        true
    };
    let (stored, within_cap) = tokio::join!(stored, feed);
    if !within_cap {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "File too large",
            format!(
                "{what} are limited to {}",
                steward_app::limits::describe_bytes(max)
            ),
        ));
    }
    stored
}

/// Streams a blob into a response body: a blocking thread reads it in chunks as the
/// client takes them, so a large file is never held whole in memory.
pub fn send(mut reader: steward_store::BlobReader) -> Body {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let chunk = match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// Reads a body's chunks as they arrive, for blocking code.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
