//! SyncML over OBEX on a serial or USB-serial cable (`/dev/ttyUSB0`, `/dev/ttyACM0`, a pty):
//! open the tty raw, switch the phone into OBEX mode with its maker's AT command
//! ([`at`]), run the OBEX drivers of [`crate::transport::obex`] on the port (through the
//! Siemens BFB framing of [`bfb`] for older Siemens), and bring the phone back to AT mode.
//! See docs/serial.md.

pub use handsync_proto::cable::{at, bfb};
mod bfb_stream;

pub use bfb_stream::BfbStream;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;

use super::pump::{Pump, PumpError};
use super::Retry;
use crate::machine::Machine;
use tracing::Instrument;

use super::obex::{
    call_phone, serve_phone, CallError, CallOptions, CallReport, ConnectionEnd, ObexServerOptions,
};
use crate::transport::sessions::HubHandle;
use at::{Exchange, Leaver, SwitchError, SwitchMethod, SwitchOptions, Switched, Switcher};

/// The transport name sessions over a cable carry.
pub const TRANSPORT: &str = "obex-serial";

/// The speed phones of the era take on their data cables (DKU-2, CA-42, DCU-60 and the
/// Prolific-based ones all run at 115200; old Siemens BFB cables at 57600 are set with --baud).
pub const DEFAULT_BAUD: u32 = 115_200;

/// An open tty, raw 8N1, non-blocking, for tokio.
pub struct SerialPort {
    fd: AsyncFd<OwnedFd>,
    path: String,
}

impl std::fmt::Debug for SerialPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialPort")
            .field("path", &self.path)
            .finish()
    }
}

impl SerialPort {
    /// Opens `path` at `baud`, 8 data bits, no parity, 1 stop bit, no flow control, raw.
    /// Needs a tokio runtime with IO enabled.
    pub fn open(path: &str, baud: u32) -> Result<SerialPort, SerialError> {
        let opened = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .open_native()
            .map_err(|e| SerialError::Open {
                path: path.to_string(),
                source: io::Error::from(e),
            })?;
        // SAFETY: into_raw_fd hands over the descriptor serialport opened; we own it from here.
        let fd = unsafe { OwnedFd::from_raw_fd(opened.into_raw_fd()) };
        hang_up_on_close(&fd);
        set_nonblocking(&fd).map_err(|source| SerialError::Open {
            path: path.to_string(),
            source,
        })?;
        // SAFETY: an OwnedFd keeps its descriptor open and unchanged until it is dropped,
        // which only the AsyncFd does.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| SerialError::Open {
            path: path.to_string(),
            source: io::Error::from(e),
        })?;
        Ok(SerialPort {
            fd,
            path: path.to_string(),
        })
    }

    /// A descriptor already open (the master end of a pseudo-terminal, for the emulated
    /// phone), made non-blocking for tokio; `label` names it in errors and logs.
    pub fn from_owned_fd(fd: OwnedFd, label: &str) -> Result<SerialPort, SerialError> {
        let open_error = |source| SerialError::Open {
            path: label.to_string(),
            source,
        };
        set_nonblocking(&fd).map_err(open_error)?;
        // SAFETY: the OwnedFd stays open and unchanged until the AsyncFd drops it.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| open_error(io::Error::from(e)))?;
        Ok(SerialPort {
            fd,
            path: label.to_string(),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The descriptor, for the ioctls tokio does not wrap (modem lines, line speed).
    pub(crate) fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// Drops what the phone sent and nobody read (stray answers between dialogues).
    pub fn discard_input(&self) {
        // SAFETY: tcflush on a descriptor we own.
        unsafe { libc::tcflush(self.fd.get_ref().as_raw_fd(), libc::TCIFLUSH) };
    }
}

/// HUPCL: closing the port drops DTR, which sends a phone still in OBEX mode back to command
/// mode (the way out when no OBEX session is open to DISCONNECT). Best effort: a pty ignores it.
fn hang_up_on_close(fd: &OwnedFd) {
    // SAFETY: termios calls on a descriptor we own, into a zeroed struct tcgetattr fills.
    unsafe {
        let mut termios = std::mem::zeroed::<libc::termios>();
        if libc::tcgetattr(fd.as_raw_fd(), &mut termios) == 0 {
            termios.c_cflag |= libc::HUPCL;
            libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &termios);
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl AsyncRead for SerialPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = std::task::ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let result = guard.try_io(|fd| {
                // SAFETY: reading into an initialised buffer of its own length.
                let n = unsafe {
                    libc::read(
                        fd.get_ref().as_raw_fd(),
                        unfilled.as_mut_ptr().cast(),
                        unfilled.len(),
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match result {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // The other end of a pty (or a USB adapter) went away: end of stream.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Poll::Ready(Ok(())),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for SerialPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = std::task::ready!(self.fd.poll_write_ready(cx))?;
            let result = guard.try_io(|fd| {
                // SAFETY: writing from a buffer of its own length.
                let n = unsafe {
                    libc::write(fd.get_ref().as_raw_fd(), buf.as_ptr().cast(), buf.len())
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match result {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // the kernel sends what was written
    }

    /// The port stays open: the OBEX drivers shut their stream down, but the phone still has
    /// to be brought back to AT mode on it.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The OBEX stream on a switched port: plain, or in BFB frames.
pub struct CableLink<'a> {
    inner: LinkKind<'a>,
    /// Nothing OBEX has arrived yet: line ends still in flight after "CONNECT" are dropped
    /// (every OBEX request and response starts with a byte of 0x80 or above).
    before_obex: bool,
}

enum LinkKind<'a> {
    Plain(&'a mut SerialPort),
    Bfb(BfbStream<&'a mut SerialPort>),
}

impl<'a> CableLink<'a> {
    pub fn new(port: &'a mut SerialPort, method: SwitchMethod) -> CableLink<'a> {
        let inner = if method.uses_bfb() {
            LinkKind::Bfb(BfbStream::new(port))
        } else {
            LinkKind::Plain(port)
        };
        CableLink {
            inner,
            before_obex: true,
        }
    }
}

impl AsyncRead for CableLink<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let start = buf.filled().len();
            match &mut this.inner {
                LinkKind::Plain(port) => {
                    std::task::ready!(Pin::new(&mut **port).poll_read(cx, buf))?
                }
                LinkKind::Bfb(stream) => std::task::ready!(Pin::new(stream).poll_read(cx, buf))?,
            }
            if !this.before_obex || buf.filled().len() == start {
                return Poll::Ready(Ok(()));
            }
            let fresh = &buf.filled()[start..];
            let skip = fresh
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if skip == fresh.len() {
                buf.set_filled(start);
                continue; // only line ends: read again
            }
            this.before_obex = false;
            if skip > 0 {
                let kept = fresh[skip..].to_vec();
                buf.set_filled(start);
                buf.put_slice(&kept);
            }
            return Poll::Ready(Ok(()));
        }
    }
}

impl AsyncWrite for CableLink<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            LinkKind::Plain(port) => Pin::new(&mut **port).poll_write(cx, buf),
            LinkKind::Bfb(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            LinkKind::Plain(port) => Pin::new(&mut **port).poll_flush(cx),
            LinkKind::Bfb(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            LinkKind::Plain(port) => Pin::new(&mut **port).poll_shutdown(cx),
            LinkKind::Bfb(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

/// Why a cable session failed.
#[derive(Debug)]
pub enum SerialError {
    Open {
        path: String,
        source: io::Error,
    },
    Io(io::Error),
    /// The phone could not be put in OBEX mode.
    Switch(SwitchError),
    /// The OBEX/SyncML part failed (the phone was then brought back to AT mode if it could).
    Call(CallError),
}

impl std::fmt::Display for SerialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SerialError::Open { path, source } => {
                write!(f, "cannot open {path}: {source}")?;
                if source.kind() == io::ErrorKind::PermissionDenied {
                    write!(
                        f,
                        " (serial devices belong to the dialout group: `sudo usermod -aG dialout $USER`, then log in again)"
                    )?;
                }
                Ok(())
            }
            SerialError::Io(e) => write!(f, "the serial port: {e}"),
            SerialError::Switch(e) => write!(f, "switching the phone to OBEX mode: {e}"),
            SerialError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SerialError {}

impl From<io::Error> for SerialError {
    fn from(e: io::Error) -> Self {
        SerialError::Io(e)
    }
}

/// Runs an AT dialogue ([`Switcher`] or [`Leaver`]) on `port` to its outcome.
async fn run_dialogue<D: Machine>(port: &mut SerialPort, dialogue: D) -> io::Result<D::Event> {
    let mut pump = Pump::new(port, dialogue);
    pump.next_event().await.map_err(|error| match error {
        PumpError::Io(e) => e,
        PumpError::Closed | PumpError::Silent => {
            io::Error::new(io::ErrorKind::UnexpectedEof, "the serial line hung up")
        }
    })
}

/// Puts the phone on `port` in OBEX mode.
pub async fn switch_to_obex(
    port: &mut SerialPort,
    options: &SwitchOptions,
) -> Result<Switched, SerialError> {
    port.discard_input();
    let switcher = Switcher::new(options.clone(), Instant::now());
    let switched = run_dialogue(port, switcher)
        .await?
        .map_err(SerialError::Switch)?;
    tracing::info!(
        method = switched.method.command(),
        manufacturer = switched.manufacturer.as_deref().unwrap_or("?"),
        model = switched.model.as_deref().unwrap_or("?"),
        "the phone is in OBEX mode"
    );
    Ok(switched)
}

/// Brings the phone back to AT mode after an OBEX session started with `method`.
pub async fn leave_obex(
    port: &mut SerialPort,
    method: SwitchMethod,
    options: &SwitchOptions,
) -> Result<Vec<Exchange>, SerialError> {
    let leaver = Leaver::new(method, options.clone(), Instant::now());
    let dialogue = run_dialogue(port, leaver)
        .await?
        .map_err(SerialError::Switch)?;
    tracing::info!("the phone is back in AT mode");
    Ok(dialogue)
}

/// What a PC-started session on a cable did.
#[derive(Debug)]
pub struct CableCall {
    pub switched: Switched,
    pub report: CallReport,
    /// The way back to AT mode: its dialogue, or why it failed (the session itself is done).
    pub back_to_at: Result<Vec<Exchange>, SerialError>,
}

/// The PC starts over the cable: switch to OBEX, [`call_phone`], back to AT mode.
/// `options_for` makes the call's options once the phone said who it is (its `AT+CGMI` and
/// `AT+CGMM` answers name the quirk profile, and so the datastore names the SAN carries).
pub async fn call_phone_on_cable(
    port: &mut SerialPort,
    hub: HubHandle,
    options_for: impl FnOnce(&Switched) -> CallOptions,
    switch: &SwitchOptions,
) -> Result<CableCall, SerialError> {
    let span = tracing::info_span!("serial_session", device = %port.path(), transport = TRANSPORT);
    async {
        let switched = switch_to_obex(port, switch).await?;
        let options = options_for(&switched);
        let called = call_phone(
            CableLink::new(port, switched.method),
            hub,
            TRANSPORT,
            &options,
        )
        .await;
        if called.is_err() && switched.method != SwitchMethod::AlreadyObex {
            // The session broke off without its DISCONNECT, which is what sends most phones
            // back to command mode: send one (its answer, if any, is not needed).
            let mut link = CableLink::new(port, switched.method);
            let disconnect = [0x81, 0x00, 0x03];
            if link.write_all(&disconnect).await.is_ok() {
                let _ = link.flush().await;
            }
        }
        let back_to_at = leave_obex(port, switched.method, switch).await;
        match called {
            Ok(report) => Ok(CableCall {
                switched,
                report,
                back_to_at,
            }),
            Err(error) => {
                if let Err(back) = &back_to_at {
                    tracing::warn!(error = %back, "after the failed session");
                }
                Err(SerialError::Call(error))
            }
        }
    }
    .instrument(span)
    .await
}

/// A phone that stays on a cable, for `handsync serve`.
#[derive(Clone)]
pub struct SerialListen {
    pub path: String,
    pub baud: u32,
    pub switch: SwitchOptions,
    pub obex: ObexServerOptions,
    /// Pause before trying again after a failure (port missing, phone silent).
    pub retry_pause: Duration,
    /// Where status lines go (the daemon's stdout).
    pub report: Arc<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for SerialListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialListen")
            .field("path", &self.path)
            .field("baud", &self.baud)
            .finish()
    }
}

/// Keeps the port: switches the phone into OBEX mode, serves the session it starts, brings it
/// back to AT mode, and again, until `shutdown` turns true. A missing port or a silent phone
/// is tried again after `retry_pause`, then longer pauses (up to a minute).
pub async fn serve(
    listen: SerialListen,
    hub: HubHandle,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let span = tracing::info_span!("serial_listener", device = %listen.path, transport = TRANSPORT);
    async move {
        let stopped = |shutdown: &mut watch::Receiver<bool>| {
            let mut shutdown = shutdown.clone();
            async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            }
        };
        let mut retry = Retry::new(listen.retry_pause);
        let report = listen.report.as_ref();
        'reopen: loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let mut port = match SerialPort::open(&listen.path, listen.baud) {
                Ok(port) => port,
                Err(error) => {
                    let line = format!("Serial {}: {error}; trying again", listen.path);
                    tokio::select! {
                        _ = tokio::time::sleep(retry.failed(report, line)) => continue 'reopen,
                        _ = stopped(&mut shutdown) => return Ok(()),
                    }
                }
            };
            loop {
                let switched = tokio::select! {
                    switched = switch_to_obex(&mut port, &listen.switch) => switched,
                    _ = stopped(&mut shutdown) => return Ok(()),
                };
                let switched = match switched {
                    Ok(switched) => switched,
                    Err(SerialError::Io(error)) => {
                        let line = format!("Serial {}: {error}; reopening", listen.path);
                        tokio::select! {
                            _ = tokio::time::sleep(retry.failed(report, line)) => continue 'reopen,
                            _ = stopped(&mut shutdown) => return Ok(()),
                        }
                    }
                    Err(error) => {
                        let line = format!("Serial {}: {error}; trying again", listen.path);
                        tokio::select! {
                            _ = tokio::time::sleep(retry.failed(report, line)) => continue,
                            _ = stopped(&mut shutdown) => return Ok(()),
                        }
                    }
                };
                retry.succeeded();
                let phone = match (&switched.manufacturer, &switched.model) {
                    (Some(maker), Some(model)) => format!("{maker} {model}"),
                    (Some(maker), None) => maker.clone(),
                    _ => "the phone".to_string(),
                };
                (listen.report)(&format!(
                    "Serial {}: {phone} in OBEX mode ({}), waiting for its session",
                    listen.path,
                    switched.method.command()
                ));
                let session = tracing::info_span!(
                    "serial_session",
                    device = %listen.path,
                    transport = TRANSPORT,
                    switch = switched.method.command()
                );
                let served = tokio::select! {
                    served = serve_phone(
                        CableLink::new(&mut port, switched.method),
                        hub.clone(),
                        TRANSPORT,
                        None,
                        &listen.obex,
                    ).instrument(session) => served,
                    // No session to DISCONNECT: closing the port drops DTR (HUPCL), which
                    // sends the phone back to command mode.
                    _ = stopped(&mut shutdown) => return Ok(()),
                };
                match served {
                    Ok(ConnectionEnd::Closed) => {
                        let line = format!("Serial {}: the line hung up; reopening", listen.path);
                        tokio::select! {
                            _ = tokio::time::sleep(retry.failed(report, line)) => continue 'reopen,
                            _ = stopped(&mut shutdown) => return Ok(()),
                        }
                    }
                    Ok(end) => (listen.report)(&format!(
                        "Serial {}: session over ({})",
                        listen.path,
                        match end {
                            ConnectionEnd::Disconnected => "the phone disconnected",
                            ConnectionEnd::TimedOut => "the phone went silent",
                            _ => "stopped",
                        }
                    )),
                    Err(error) => {
                        (listen.report)(&format!("Serial {}: {error}", listen.path));
                    }
                }
                match leave_obex(&mut port, switched.method, &listen.switch).await {
                    Ok(_) => (listen.report)(&format!(
                        "Serial {}: the phone is back in AT mode",
                        listen.path
                    )),
                    Err(error) => (listen.report)(&format!("Serial {}: {error}", listen.path)),
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// A new pseudo-terminal pair in raw mode: the master end, and the path of the slave end a
/// program opens as if it were a phone's cable (`handsync emulate --pty`).
pub fn open_pty() -> io::Result<(OwnedFd, String)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: openpty writes two descriptors and the slave's name into buffers we own.
    let result = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            name.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openpty succeeded: both descriptors are ours.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // Raw on the slave side too, so that nothing is echoed or translated before the PC's
    // program opens it and sets its own modes.
    // SAFETY: termios calls on a descriptor we own, into a zeroed struct tcgetattr fills.
    unsafe {
        let mut termios = std::mem::zeroed::<libc::termios>();
        if libc::tcgetattr(slave.as_raw_fd(), &mut termios) == 0 {
            libc::cfmakeraw(&mut termios);
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &termios);
        }
    }
    // SAFETY: name is NUL-terminated by openpty.
    let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    drop(slave);
    Ok((master, path))
}
