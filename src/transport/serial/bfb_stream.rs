//! OBEX over Siemens BFB on an async byte stream: the tokio side of
//! [`handsync_proto::cable::bfb`].

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use handsync_proto::cable::bfb::BfbCodec;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream carrying OBEX over BFB: what the OBEX drivers write is framed, what they read is
/// unframed, so [`crate::transport::obex`] runs over it unchanged. Each `write` call is one
/// chunk: the drivers write whole packets.
pub struct BfbStream<S> {
    inner: S,
    codec: BfbCodec,
    /// Unframed bytes waiting for a read.
    ready: VecDeque<u8>,
    /// Framed bytes waiting to go out.
    pending: Vec<u8>,
    written: usize,
}

impl<S> BfbStream<S> {
    pub fn new(inner: S) -> BfbStream<S> {
        BfbStream {
            inner,
            codec: BfbCodec::new(u16::MAX as usize),
            ready: VecDeque::new(),
            pending: Vec::new(),
            written: 0,
        }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncWrite + Unpin> BfbStream<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = std::task::ready!(
                Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for BfbStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.ready.is_empty() {
                let n = buf.remaining().min(this.ready.len());
                for byte in this.ready.drain(..n) {
                    buf.put_slice(&[byte]);
                }
                return Poll::Ready(Ok(()));
            }
            let mut raw = [0u8; 1024];
            let mut raw_buf = ReadBuf::new(&mut raw);
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut raw_buf))?;
            if raw_buf.filled().is_empty() {
                return Poll::Ready(Ok(())); // end of stream
            }
            let decoded = this
                .codec
                .decode(raw_buf.filled())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            this.ready.extend(decoded);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BfbStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Earlier frames go first; a packet is framed only once they are out.
        std::task::ready!(this.poll_drain(cx))?;
        let len = buf.len().min(u16::MAX as usize);
        this.pending = this.codec.encode_packet(&buf[..len]);
        this.written = 0;
        // Start sending now; what is left goes on the next write or flush.
        let _ = this.poll_drain(cx)?;
        Poll::Ready(Ok(len))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        std::task::ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        std::task::ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
