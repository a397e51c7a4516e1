//! A serial IrDA dongle on a tty (`/dev/ttyS0`, `/dev/ttyUSB0`, a pty for `plain`): its
//! speed changes carried out as [`handsync_proto::irda::dongle`] lists them (DTR/RTS through
//! TIOCMSET, the UART's speed through termios, control bytes, echoes), and IrLAP frames
//! wrapped in SIR on the way out and unwrapped on the way in.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use handsync_proto::irda::dongle::{change_speed, DongleError, DongleKind, Step};
use handsync_proto::irda::sir::{self, SirDecoder, SirItem};
use handsync_proto::irda::{Received, Transmit, CONTACT_SPEED};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::transport::serial::SerialPort;

/// Largest IrLAP frame a SIR link carries: 2048 bytes of data, address and control.
const MAX_FRAME: usize = 2048 + 2;

/// A dongle on a serial port, at a known speed.
pub struct SerialDongle {
    port: SerialPort,
    kind: DongleKind,
    speed: u32,
    /// Kept across `recv` calls so that a cancelled `recv` loses nothing.
    decoder: SirDecoder,
    ready: VecDeque<Received>,
    read_buffer: Box<[u8; 4096]>,
}

impl std::fmt::Debug for SerialDongle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialDongle")
            .field("path", &self.port.path())
            .field("kind", &self.kind)
            .field("speed", &self.speed)
            .finish()
    }
}

impl SerialDongle {
    /// Opens `path` at 9600 b/s and brings the dongle to the contact speed (reset included).
    /// A dongle driven by DTR and RTS fails here on a port without modem lines (a pty).
    pub async fn open(path: &str, kind: DongleKind) -> Result<SerialDongle, DongleError> {
        let port = SerialPort::open(path, CONTACT_SPEED)
            .map_err(|e| DongleError::Io(io::Error::other(e.to_string())))?;
        let mut dongle = SerialDongle {
            port,
            kind,
            speed: 0,
            decoder: SirDecoder::new(MAX_FRAME),
            ready: VecDeque::new(),
            read_buffer: Box::new([0; 4096]),
        };
        dongle.switch_to(CONTACT_SPEED).await?;
        Ok(dongle)
    }

    pub fn kind(&self) -> DongleKind {
        self.kind
    }

    pub fn path(&self) -> &str {
        self.port.path()
    }

    /// The speed frames go out and come in at.
    pub fn speed(&self) -> u32 {
        self.speed
    }

    /// Changes the dongle's speed, after what was written so far has left the UART.
    pub async fn set_speed(&mut self, speed: u32) -> Result<(), DongleError> {
        if speed == self.speed {
            return Ok(());
        }
        self.switch_to(speed).await
    }

    async fn switch_to(&mut self, speed: u32) -> Result<(), DongleError> {
        let steps = change_speed(self.kind, speed)?;
        self.drain().await?;
        self.port.discard_input();
        self.run(&steps, speed).await?;
        // Whatever was half-received belongs to the old speed.
        self.decoder = SirDecoder::new(MAX_FRAME);
        self.speed = speed;
        tracing::debug!(dongle = %self.kind, speed, "dongle speed set");
        Ok(())
    }

    /// Puts one frame on the air: at its speed (changed first if needed), SIR-wrapped.
    pub async fn send(&mut self, tx: &Transmit) -> Result<(), DongleError> {
        if tx.speed != self.speed {
            self.set_speed(tx.speed).await?;
        }
        let mut wire = Vec::with_capacity(sir::encoded_len(&tx.frame, tx.extra_bofs));
        sir::encode_frame(&tx.frame, tx.extra_bofs, &mut wire);
        self.port.write_all(&wire).await?;
        Ok(())
    }

    /// The next frame from the air, or [`Received::Activity`] for bytes that made no
    /// frame (a damaged frame, or the first part of one: someone is transmitting).
    /// Cancel-safe: the decoder and what it found live in `self`.
    pub async fn recv(&mut self) -> io::Result<Received> {
        loop {
            if let Some(received) = self.ready.pop_front() {
                return Ok(received);
            }
            let n = self.port.read(&mut self.read_buffer[..]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the dongle's port {} closed", self.port.path()),
                ));
            }
            let items = self.decoder.push(&self.read_buffer[..n]);
            if items.is_empty() {
                self.ready.push_back(Received::Activity);
            }
            for item in items {
                self.ready.push_back(match item {
                    SirItem::Frame(frame) => Received::Frame(frame),
                    SirItem::Damaged(error) => {
                        tracing::trace!(%error, "damaged frame");
                        Received::Activity
                    }
                });
            }
        }
    }

    /// Carries out a dongle's steps; `speed` is the IR speed they aim at (for errors).
    async fn run(&mut self, steps: &[Step], speed: u32) -> Result<(), DongleError> {
        let fd = self.port.as_raw_fd();
        for step in steps {
            match step {
                Step::SetLines { dtr, rts } => {
                    set_modem_lines(fd, *dtr, *rts).map_err(|source| DongleError::ModemLines {
                        dongle: self.kind,
                        source,
                    })?;
                }
                Step::SetUartSpeed(uart) => set_uart_speed(fd, *uart)?,
                Step::Write(bytes) => {
                    self.port.write_all(bytes).await?;
                    self.drain().await?;
                }
                Step::Wait(pause) => hold(*pause).await,
                Step::ExpectEcho { bytes, timeout } => {
                    self.expect_echo(bytes, *timeout, speed).await?;
                }
            }
        }
        Ok(())
    }

    async fn expect_echo(
        &mut self,
        expected: &[u8],
        timeout: Duration,
        speed: u32,
    ) -> Result<(), DongleError> {
        let mut received = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while received.len() < expected.len() {
            let mut byte = [0u8; 16];
            let want = (expected.len() - received.len()).min(byte.len());
            match tokio::time::timeout_at(deadline, self.port.read(&mut byte[..want])).await {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => received.extend_from_slice(&byte[..n]),
                Ok(Err(e)) => return Err(DongleError::Io(e)),
            }
        }
        if received == expected {
            Ok(())
        } else {
            Err(DongleError::NoEcho {
                dongle: self.kind,
                speed,
                expected: expected.to_vec(),
                received,
            })
        }
    }

    /// Waits until what was written has left the UART: the output queue empty, then one
    /// byte's time for the shift register.
    async fn drain(&self) -> io::Result<()> {
        let fd = self.port.as_raw_fd();
        let uart = if self.speed == 0 {
            CONTACT_SPEED
        } else {
            self.speed
        };
        let byte_time = Duration::from_nanos(10_000_000_000 / u64::from(uart));
        // A queue that never drains (flow control stuck) must not hang us: give up after
        // the time 64 KiB take at this speed, plus a second.
        let mut patience = byte_time * 65_536 + Duration::from_secs(1);
        loop {
            let queued = output_queue(fd)?;
            if queued == 0 {
                break;
            }
            let pause = (byte_time * queued).max(Duration::from_millis(1));
            if pause > patience {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the serial port does not send what was written",
                ));
            }
            patience -= pause;
            tokio::time::sleep(pause).await;
        }
        hold(byte_time).await;
        Ok(())
    }
}

/// Holds for `pause`: timer sleeps for milliseconds, a short spin of the thread for the
/// microsecond pulses dongles count (tokio's timer has millisecond resolution).
async fn hold(pause: Duration) {
    if pause >= Duration::from_millis(1) {
        tokio::time::sleep(pause).await;
    } else {
        std::thread::sleep(pause);
    }
}

fn set_modem_lines(fd: std::os::fd::RawFd, dtr: bool, rts: bool) -> io::Result<()> {
    let mut status: libc::c_int = 0;
    // SAFETY: TIOCMGET and TIOCMSET read and write one int we own, on a descriptor the
    // SerialPort keeps open.
    unsafe {
        if libc::ioctl(fd, libc::TIOCMGET, &mut status) < 0 {
            return Err(io::Error::last_os_error());
        }
        for (line, on) in [(libc::TIOCM_DTR, dtr), (libc::TIOCM_RTS, rts)] {
            if on {
                status |= line;
            } else {
                status &= !line;
            }
        }
        if libc::ioctl(fd, libc::TIOCMSET, &status) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn set_uart_speed(fd: std::os::fd::RawFd, speed: u32) -> io::Result<()> {
    let constant = match speed {
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115_200 => libc::B115200,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a SIR UART does not run at {other} b/s"),
            ))
        }
    };
    // SAFETY: termios calls on a descriptor we own, into a zeroed struct tcgetattr fills.
    unsafe {
        let mut termios = std::mem::zeroed::<libc::termios>();
        if libc::tcgetattr(fd, &mut termios) != 0
            || libc::cfsetispeed(&mut termios, constant) != 0
            || libc::cfsetospeed(&mut termios, constant) != 0
            || libc::tcsetattr(fd, libc::TCSANOW, &termios) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Bytes written and not yet sent.
fn output_queue(fd: std::os::fd::RawFd) -> io::Result<u32> {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one int we own.
    if unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(queued.max(0) as u32)
}

#[cfg(test)]
mod tests;
