//! One CDC OBEX function's bulk pipes as a byte stream for the OBEX drivers: reads are the
//! bulk IN stream; writes are cut at OBEX packet boundaries, each packet one bulk OUT transfer
//! ended by a short packet or, when the endpoint's packet size divides its length, a
//! zero-length one (a phone reads a packet until its transfer ends).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nusb::io::{EndpointRead, EndpointWrite};
use nusb::transfer::Bulk;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most written and not yet sent (two of the largest OBEX packets).
const PENDING_LIMIT: usize = 2 * 0x10000;

pub struct ObexPipe {
    reader: EndpointRead<Bulk>,
    writer: EndpointWrite<Bulk>,
    /// Bytes written, from the start of an OBEX packet.
    pending: Vec<u8>,
    /// Bytes of the packet at the front of `pending` not yet handed to the endpoint.
    packet_left: usize,
    pub(super) data: nusb::Interface,
    pub(super) _control: nusb::Interface,
    pub(super) idle_setting: u8,
}

impl ObexPipe {
    pub(super) fn new(
        reader: EndpointRead<Bulk>,
        writer: EndpointWrite<Bulk>,
        control: nusb::Interface,
        data: nusb::Interface,
        idle_setting: u8,
    ) -> ObexPipe {
        ObexPipe {
            reader,
            writer,
            pending: Vec::new(),
            packet_left: 0,
            data,
            _control: control,
            idle_setting,
        }
    }

    /// Ends the pipes' transfers and puts the data interface back in its idle setting (the
    /// phone then knows the host is done with the function); the interfaces are released
    /// when dropped.
    pub async fn close(self) {
        let ObexPipe {
            reader,
            writer,
            data,
            idle_setting,
            ..
        } = self;
        drop(reader);
        drop(writer);
        if let Err(e) = data.set_alt_setting(idle_setting).await {
            tracing::debug!(%e, "USB: the data interface did not go idle");
        }
    }

    /// Hands whole packets from `pending` to the endpoint, each ended for the phone.
    fn poll_send_packets(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.packet_left == 0 {
                if self.pending.len() < 3 {
                    return Poll::Ready(Ok(()));
                }
                let length = usize::from(u16::from_be_bytes([self.pending[1], self.pending[2]]));
                if length < 3 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "an OBEX packet shorter than its header",
                    )));
                }
                if self.pending.len() < length {
                    // The rest of the packet comes with the next write.
                    return Poll::Ready(Ok(()));
                }
                self.packet_left = length;
            }
            let handed = ready!(
                Pin::new(&mut self.writer).poll_write(cx, &self.pending[..self.packet_left])
            )?;
            self.pending.drain(..handed);
            self.packet_left -= handed;
            if self.packet_left == 0 {
                self.writer.submit_end();
            }
        }
    }
}

impl AsyncRead for ObexPipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for ObexPipe {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.len() >= PENDING_LIMIT {
            ready!(self.poll_send_packets(cx))?;
            if self.pending.len() >= PENDING_LIMIT {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "more than two OBEX packets' worth without a whole packet",
                )));
            }
        }
        let room = PENDING_LIMIT - self.pending.len();
        let taken = buf.len().min(room);
        self.pending.extend_from_slice(&buf[..taken]);
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_packets(cx))?;
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
