//! The phone emulator on real wires: OBEX over any byte stream in both roles, and HTTP. The
//! emulator itself is sans-IO (`crate::emulator`); these drivers only move its bytes and
//! hand it the time.

use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::pump::{Pump, PumpError};
use crate::emulator::cable::{CableMode, CableModem, CableProfile};
use crate::emulator::{
    EmulatedPhone, EmulatorError, PcStartsObex, PhoneEvent, PhoneStartsObex, SessionReport, Step,
    SyncRequest, UnixMillis,
};
use crate::machine::Machine;

/// Why an emulated session could not run.
#[derive(Debug)]
pub enum EmulateError {
    Io(std::io::Error),
    /// The link closed before the session ended.
    Closed,
    /// Nothing arrived for too long.
    TimedOut,
    /// The phone's session failed (the server's input, OBEX, authentication...).
    Session(String),
    Emulator(EmulatorError),
    /// The HTTP server answered with an error.
    Http {
        status: u16,
        body: String,
    },
    /// The URL is not `http://HOST:PORT/PATH`.
    Url(String),
}

impl std::fmt::Display for EmulateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmulateError::Io(e) => write!(f, "connection: {e}"),
            EmulateError::Closed => f.write_str("the connection closed before the session ended"),
            EmulateError::TimedOut => f.write_str("nothing arrived for too long"),
            EmulateError::Session(why) => write!(f, "the session failed: {why}"),
            EmulateError::Emulator(e) => write!(f, "{e}"),
            EmulateError::Http { status, body } => {
                write!(f, "the server answered HTTP {status}: {}", body.trim())
            }
            EmulateError::Url(url) => write!(f, "`{url}` is not an http://HOST:PORT/PATH URL"),
        }
    }
}

impl std::error::Error for EmulateError {}

impl From<std::io::Error> for EmulateError {
    fn from(e: std::io::Error) -> Self {
        EmulateError::Io(e)
    }
}

impl From<EmulatorError> for EmulateError {
    fn from(e: EmulatorError) -> Self {
        EmulateError::Emulator(e)
    }
}

/// Moves bytes until the session finishes (and, phone starting, the connection ends).
/// `progress` sees each event.
async fn run<S, M>(
    pump: &mut Pump<S, M>,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> Result<SessionReport, EmulateError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Machine<Event = PhoneEvent>,
{
    let mut report = None;
    loop {
        let event = match pump.next_event().await {
            Ok(event) => event,
            // A PC that hangs up right after our last message is fine.
            Err(PumpError::Closed) => return report.ok_or(EmulateError::Closed),
            Err(PumpError::Io(e)) => return Err(e.into()),
            Err(PumpError::Silent) => return Err(EmulateError::TimedOut),
        };
        progress(&event);
        match event {
            PhoneEvent::SessionFinished(finished) => report = Some(finished),
            PhoneEvent::Failed(why) => return Err(EmulateError::Session(why)),
            PhoneEvent::Disconnected => return report.ok_or(EmulateError::Closed),
            PhoneEvent::NotificationRefused(why) => {
                tracing::info!(%why, "notification refused; waiting for another");
            }
            PhoneEvent::Connected => {}
        }
    }
}

fn wall_now() -> UnixMillis {
    UnixMillis::from_system_time(SystemTime::now())
}

/// The phone starts a session over `stream` (it connects to the PC's OBEX server).
pub async fn phone_starts<S>(
    mut stream: S,
    phone: EmulatedPhone,
    request: SyncRequest,
    config: crate::obex::ObexClientConfig,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let silence = config.response_timeout.unwrap_or(Duration::from_secs(120));
    let mut machine = PhoneStartsObex::new(phone, config, Instant::now(), wall_now());
    if let Err(e) = machine.start(Instant::now(), request) {
        return (machine.into_phone(), Err(e.into()));
    }
    let mut pump = Pump::new(&mut stream, machine).with_silence(silence);
    let result = run(&mut pump, progress).await;
    let mut phone = pump.into_machine().into_phone();
    if result.is_err() && phone.in_session() {
        phone.abort();
    }
    let _ = stream.shutdown().await;
    (phone, result)
}

/// The PC starts: the phone waits on `stream` (an accepted connection) for the PC's
/// notification and runs the session it asks for.
pub async fn pc_starts<S>(
    stream: S,
    phone: EmulatedPhone,
    config: crate::obex::ObexServerConfig,
    silence: Duration,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = PcStartsObex::new(phone, config, Instant::now(), wall_now());
    let mut pump = Pump::new(stream, machine).with_silence(silence);
    let result = run(&mut pump, progress).await;
    let mut phone = pump.into_machine().into_phone();
    if result.is_err() && phone.in_session() {
        phone.abort();
    }
    (phone, result)
}

/// `http://HOST:PORT/PATH?QUERY` → (host:port, path and query).
fn split_url(url: &str) -> Result<(String, String), EmulateError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| EmulateError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(EmulateError::Url(url.to_string()));
    }
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_string()))
}

/// One POST; the answer's body.
async fn post(url: &str, content_type: &str, body: Vec<u8>) -> Result<Vec<u8>, EmulateError> {
    let (authority, path) = split_url(url)?;
    let stream = tokio::net::TcpStream::connect(&authority).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| EmulateError::Io(std::io::Error::other(e)))?;
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| EmulateError::Io(std::io::Error::other(e)))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| EmulateError::Io(std::io::Error::other(e)))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| EmulateError::Io(std::io::Error::other(e)))?
        .to_bytes()
        .to_vec();
    if status != 200 {
        return Err(EmulateError::Http {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Ok(bytes)
}

/// A session over HTTP against any SyncML server URL; later messages go to the server's
/// RespURI when it gives one.
pub async fn over_http(
    url: &str,
    phone: EmulatedPhone,
    request: SyncRequest,
    progress: &mut dyn FnMut(usize),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    over_http_following(url, RespUri::Follow, phone, request, progress).await
}

/// Whether a phone on HTTP posts its later messages to the server's RespURI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespUri {
    Follow,
    /// Every message to the first URL, as some old phones do: the server finds the session
    /// by the message's SessionID and device URI.
    Ignore,
}

/// [`over_http`], following the server's RespURI or not.
pub async fn over_http_following(
    url: &str,
    resp_uri: RespUri,
    mut phone: EmulatedPhone,
    request: SyncRequest,
    progress: &mut dyn FnMut(usize),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    let mut outgoing = match phone.start_sync(&request, wall_now()) {
        Ok(outgoing) => outgoing,
        Err(e) => return (phone, Err(e.into())),
    };
    let mut exchanged = 0;
    loop {
        let target = match resp_uri {
            RespUri::Follow => phone.response_uri().unwrap_or(url),
            RespUri::Ignore => url,
        }
        .to_string();
        let answer = match post(&target, outgoing.content_type(), outgoing.bytes.clone()).await {
            Ok(answer) => answer,
            Err(e) => {
                phone.abort();
                return (phone, Err(e));
            }
        };
        exchanged += 1;
        progress(exchanged);
        match phone.receive(&answer, wall_now()) {
            Ok(Step::Send(next)) => outgoing = next,
            Ok(Step::Finished(report)) => return (phone, Ok(report)),
            Err(e) => return (phone, Err(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:9180/sync?x=1").unwrap(),
            ("127.0.0.1:9180".into(), "/sync?x=1".into())
        );
        assert_eq!(
            split_url("http://example.org").unwrap(),
            ("example.org:80".into(), "/".into())
        );
        assert!(split_url("https://x/").is_err());
        assert!(split_url("http:///x").is_err());
    }
}

/// Who starts a session on a cable.
#[derive(Debug, Clone)]
pub enum CableRole {
    /// The PC switches the cable to OBEX and sends a notification; the phone answers it.
    PcStarts,
    /// The PC switches the cable to OBEX and waits (`handsync serve --serial`); the phone
    /// then starts this session, as from its Sync menu.
    PhoneStarts(SyncRequest),
}

/// The phone's cable modem for a profile's switch command.
pub fn cable_modem_for(profile: &crate::emulator::DeviceProfile) -> CableModem {
    use crate::emulator::CableSwitch;
    let cable = match profile.cable_switch {
        Some(CableSwitch::SonyEricssonEobex) => CableProfile::SonyEricsson,
        Some(CableSwitch::SiemensSqwe) => CableProfile::SiemensSqwe,
        Some(CableSwitch::SiemensBfb) => CableProfile::SiemensBfb,
        Some(CableSwitch::MotorolaMode22) => CableProfile::Motorola,
        Some(CableSwitch::Cprot0) | None => CableProfile::Nokia,
    };
    CableModem::new(cable)
}

/// Either OBEX role of the phone, once there is one.
enum CableMachine {
    Waiting(Box<EmulatedPhone>),
    PcStarts(Box<PcStartsObex>),
    PhoneStarts(Box<PhoneStartsObex>),
    Gone,
}

impl CableMachine {
    /// The phone's OBEX machine, when it has one.
    fn obex(&mut self) -> Option<&mut dyn Machine<Event = PhoneEvent>> {
        match self {
            CableMachine::PcStarts(m) => Some(m.as_mut()),
            CableMachine::PhoneStarts(m) => Some(m.as_mut()),
            CableMachine::Waiting(_) | CableMachine::Gone => None,
        }
    }
}

/// The phone on its end of a cable (`port`: the master side of a pty, or a real tty): the
/// modem answers the PC's AT commands; once switched, OBEX flows to the phone's machine.
/// Returns after the session when the PC lets go of the line (closes it, or stays quiet for
/// a few seconds after the session ended).
pub async fn over_cable<S>(
    mut port: S,
    mut modem: CableModem,
    phone: EmulatedPhone,
    role: CableRole,
    silence: Duration,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    const AFTERWARDS: Duration = Duration::from_secs(4);
    let mut machine = match role {
        CableRole::PcStarts => CableMachine::PcStarts(Box::new(PcStartsObex::new(
            phone,
            crate::obex::ObexServerConfig::default(),
            Instant::now(),
            wall_now(),
        ))),
        CableRole::PhoneStarts(_) => CableMachine::Waiting(Box::new(phone)),
    };
    let request = match &role {
        CableRole::PhoneStarts(request) => Some(request.clone()),
        CableRole::PcStarts => None,
    };
    let mut buffer = vec![0u8; 16 * 1024];
    let mut report: Option<SessionReport> = None;
    let mut failure: Option<EmulateError> = None;
    let mut last_input = Instant::now();
    // A user starts the sync from the phone's menu a moment after the PC switched the cable,
    // not while the PC is still reading the switch's answer.
    const USER_DELAY: Duration = Duration::from_millis(1500);
    let mut switched_at: Option<Instant> = None;
    let into_phone = |machine: CableMachine| match machine {
        CableMachine::Waiting(phone) => Some(*phone),
        CableMachine::PcStarts(m) => Some(m.into_phone()),
        CableMachine::PhoneStarts(m) => Some(m.into_phone()),
        CableMachine::Gone => None,
    };
    loop {
        // The phone starts once the PC has switched the cable.
        if modem.mode() == CableMode::At {
            switched_at = None;
        } else {
            let since = *switched_at.get_or_insert_with(Instant::now);
            if since.elapsed() >= USER_DELAY && matches!(machine, CableMachine::Waiting(_)) {
                let CableMachine::Waiting(phone) =
                    std::mem::replace(&mut machine, CableMachine::Gone)
                else {
                    unreachable!()
                };
                let mut obex = PhoneStartsObex::new(
                    *phone,
                    crate::obex::ObexClientConfig::default(),
                    Instant::now(),
                    wall_now(),
                );
                let request = request.clone().expect("a phone-started role");
                if let Err(e) = obex.start(Instant::now(), request) {
                    failure = Some(e.into());
                }
                machine = CableMachine::PhoneStarts(Box::new(obex));
            }
        }
        // OBEX bytes both ways between the modem and the phone's machine.
        while let Some(bytes) = modem.poll_obex_input() {
            if let Some(obex) = machine.obex() {
                obex.handle_input(Instant::now(), &bytes);
            }
        }
        let mut events = Vec::new();
        if let Some(obex) = machine.obex() {
            while let Some(packet) = obex.poll_transmit() {
                modem.send_obex(&packet);
            }
            events.extend(std::iter::from_fn(|| obex.poll_event()));
        }
        for event in &events {
            progress(event);
            match event {
                PhoneEvent::SessionFinished(finished) => report = Some(finished.clone()),
                PhoneEvent::Failed(why) if report.is_none() => {
                    failure = Some(EmulateError::Session(why.clone()))
                }
                _ => {}
            }
        }
        let mut wrote = false;
        while let Some(bytes) = modem.poll_transmit() {
            if let Err(e) = port.write_all(&bytes).await {
                failure.get_or_insert(EmulateError::Io(e));
                break;
            }
            wrote = true;
        }
        if wrote {
            let _ = port.flush().await;
        }
        if report.is_some() || failure.is_some() {
            if last_input.elapsed() >= AFTERWARDS {
                break;
            }
        } else if last_input.elapsed() >= silence {
            failure = Some(EmulateError::TimedOut);
            break;
        }
        let wait = if report.is_some() || failure.is_some() {
            AFTERWARDS
        } else if switched_at.is_some() && matches!(machine, CableMachine::Waiting(_)) {
            USER_DELAY / 3
        } else {
            Duration::from_millis(500)
        };
        match tokio::time::timeout(wait, port.read(&mut buffer)).await {
            Ok(Ok(0)) => {
                if report.is_some() || failure.is_some() {
                    break; // the PC let go of the line
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(Ok(n)) => {
                last_input = Instant::now();
                modem.handle_input(&buffer[..n]);
            }
            // EIO on a pty master: nobody has the other end open (yet, or any more).
            Ok(Err(_)) => {
                if report.is_some() || failure.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => {
                if let Some(obex) = machine.obex() {
                    // The machine ignores a timeout before its deadline.
                    obex.handle_timeout(Instant::now());
                }
            }
        }
    }
    let mut phone = into_phone(machine).expect("the phone is kept");
    if report.is_none() && phone.in_session() {
        phone.abort();
    }
    let result = match (report, failure) {
        (Some(report), _) => Ok(report),
        (None, Some(failure)) => Err(failure),
        (None, None) => Err(EmulateError::Closed),
    };
    (phone, result)
}

/// What runs when a [`CutLink`] cuts: a Bluetooth emulator disconnects the device (the link
/// drops under the server, as when a phone leaves range), others need nothing.
pub type CutAction = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Bytes a [`CutLink`] carried, readable while it runs and after.
#[derive(Debug, Default)]
pub struct LinkBytes {
    pub sent: std::sync::atomic::AtomicU64,
    pub received: std::sync::atomic::AtomicU64,
}

/// The phone's end of a link, counted (bytes each way, OBEX framing included) and breakable:
/// after the phone has written `limit` bytes, the first write past it sends only what fits,
/// runs the cut action, and every write after fails. For tests and users who want to see a
/// session survive a link lost in the middle of a package.
pub struct CutLink<S> {
    inner: S,
    remaining: usize,
    action: Option<CutAction>,
    cut: bool,
    bytes: std::sync::Arc<LinkBytes>,
}

impl<S> CutLink<S> {
    pub fn new(inner: S, limit: usize, action: Option<CutAction>) -> CutLink<S> {
        CutLink {
            inner,
            remaining: limit,
            action,
            cut: false,
            bytes: Default::default(),
        }
    }

    /// The counters, to read once the link is gone.
    pub fn bytes(&self) -> std::sync::Arc<LinkBytes> {
        self.bytes.clone()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CutLink<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.cut {
            return std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
        }
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.bytes
            .received
            .fetch_add(read, std::sync::atomic::Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CutLink<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        if self.remaining > 0 {
            let take = buf.len().min(self.remaining);
            let written = std::task::ready!(
                std::pin::Pin::new(&mut self.inner).poll_write(cx, &buf[..take])
            )?;
            self.remaining -= written;
            self.bytes
                .sent
                .fetch_add(written as u64, std::sync::atomic::Ordering::Relaxed);
            return Poll::Ready(Ok(written));
        }
        // The cut: let the bytes already written leave, then run the action to its end.
        if !self.cut {
            std::task::ready!(std::pin::Pin::new(&mut self.inner).poll_flush(cx))?;
            if let Some(action) = self.action.as_mut() {
                std::task::ready!(action.as_mut().poll(cx));
                self.action = None;
            }
            self.cut = true;
            tracing::info!("the emulated link was cut");
        }
        Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.cut {
            return std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
        }
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod cut_tests {
    use super::*;

    #[tokio::test]
    async fn a_cut_link_passes_the_limit_then_breaks_after_its_action() {
        let (near, mut far) = tokio::io::duplex(1024);
        let acted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = acted.clone();
        let action: CutAction = Box::pin(async move {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut link = CutLink::new(near, 5, Some(action));
        let bytes = link.bytes();
        let error = link.write_all(b"0123456789").await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(acted.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(bytes.sent.load(std::sync::atomic::Ordering::Relaxed), 5);
        drop(link);
        let mut received = Vec::new();
        far.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"01234");
    }
}
