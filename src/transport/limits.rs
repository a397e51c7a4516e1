//! What a peer can make a listener hold: connections at once, and how long a silent or slow
//! one is kept. Defaults a household never meets; each set in the configuration file
//! (`[limits]`).
//!
//! Past the connection cap a new connection is not served but answered, briefly, in its own
//! protocol (HTTP 503 with Retry-After, OBEX 0xD3), by a bounded number of short-lived
//! refusals; past those it is closed at once. Descriptors are never exhausted by peers, so
//! phones within the limits keep being accepted while a flood goes on.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// Limits of every network listener (HTTP, OBEX over TCP, Bluetooth RFCOMM).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections one listener serves at once.
    pub per_listener: usize,
    /// Connections one network address may hold on one listener: one host cannot take
    /// every place.
    pub per_address: usize,
    /// HTTP: the time a request's headers may take, and a kept-alive connection may wait
    /// for its next request.
    pub header_timeout: Duration,
    /// HTTP: the time a request's whole body may take.
    pub body_timeout: Duration,
    /// OBEX over a network link: the longest wait for the first request (CONNECT).
    pub obex_before_connect: Duration,
    /// OBEX over a network link: the longest silence between operations (within an
    /// operation the OBEX machine's own timeout applies).
    pub obex_silence: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            per_listener: 256,
            per_address: 32,
            header_timeout: Duration::from_secs(30),
            // A 64 KiB message over GPRS at 1 KiB/s takes about a minute.
            body_timeout: Duration::from_secs(120),
            obex_before_connect: Duration::from_secs(30),
            // As long as a session may stay silent in the hub: a phone applying hundreds of
            // items between two messages is not cut by the link before its session is.
            obex_silence: Duration::from_secs(300),
        }
    }
}

impl ConnectionLimits {
    /// The OBEX silences these limits allow a network peer.
    pub fn obex_silence(&self) -> super::obex::Silence {
        super::obex::Silence {
            before_connect: self.obex_before_connect,
            between_operations: self.obex_silence,
        }
    }
}

/// How many refusals may be under way at once per listener; each holds its descriptor for at
/// most [`REFUSAL_TIME`].
const REFUSALS_AT_ONCE: usize = 32;
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// Connections being served, per network address.
type AddressCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// Which peers are held to the listener's cap only, not to one address's share.
pub type Exemption = Arc<dyn Fn(IpAddr) -> bool + Send + Sync>;

/// The connection cap of one listener.
#[derive(Clone)]
pub struct ConnectionGate {
    serving: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    refused: Arc<AtomicU64>,
    by_address: AddressCounts,
    per_address: usize,
    exempt: Option<Exemption>,
    what: &'static str,
}

/// A connection being served: it counts against the caps until dropped.
pub struct Serving {
    _permit: OwnedSemaphorePermit,
    address: Option<(IpAddr, AddressCounts)>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some((address, counts)) = &self.address {
            let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(count) = counts.get_mut(address) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(address);
                }
            }
        }
    }
}

/// What to do with a connection just accepted.
pub enum Admission {
    /// Serve it; the connection counts until this is dropped.
    Serve(Serving),
    /// Answer it "busy" (holding this permit while doing so).
    Refuse(OwnedSemaphorePermit),
    /// Close it at once: too many are being refused already.
    Drop,
}

impl ConnectionGate {
    /// A gate of `limits.per_listener` connections, `limits.per_address` from one address.
    pub fn new(what: &'static str, limits: &ConnectionLimits) -> ConnectionGate {
        ConnectionGate {
            serving: Arc::new(Semaphore::new(limits.per_listener.max(1))),
            refusing: Arc::new(Semaphore::new(REFUSALS_AT_ONCE)),
            refused: Arc::new(AtomicU64::new(0)),
            by_address: Arc::new(Mutex::new(HashMap::new())),
            per_address: limits.per_address.max(1),
            exempt: None,
            what,
        }
    }

    /// The same gate, with the peers `exempt` names (a trusted reverse proxy, another node
    /// relaying: each carries many clients) held to the listener's cap only.
    pub fn exempting(mut self, exempt: Exemption) -> ConnectionGate {
        self.exempt = Some(exempt);
        self
    }

    /// Decides on a connection from `address` (none for Bluetooth).
    pub fn admit(&self, address: Option<IpAddr>) -> Admission {
        if let Some(serving) = self.try_serve(address) {
            return Admission::Serve(serving);
        }
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if worth_logging(refused) {
            tracing::warn!(
                listener = self.what,
                refused,
                "connection limit reached: new connections are refused until some end"
            );
        }
        match self.refusing.clone().try_acquire_owned() {
            Ok(permit) => Admission::Refuse(permit),
            Err(_) => Admission::Drop,
        }
    }

    fn try_serve(&self, address: Option<IpAddr>) -> Option<Serving> {
        let exempt = |peer: &IpAddr| self.exempt.as_ref().is_some_and(|exempt| exempt(*peer));
        let Some(address) = address.filter(|peer| !exempt(peer)) else {
            let permit = self.serving.clone().try_acquire_owned().ok()?;
            return Some(Serving {
                _permit: permit,
                address: None,
            });
        };
        let mut counts = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.get(&address).copied().unwrap_or(0);
        if count >= self.per_address {
            return None;
        }
        let permit = self.serving.clone().try_acquire_owned().ok()?;
        counts.insert(address, count + 1);
        Some(Serving {
            _permit: permit,
            address: Some((address, self.by_address.clone())),
        })
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Whether the `count`th refusal of a kind is logged: the first, then one in a thousand, so
/// that a flood does not flood the journal.
pub fn worth_logging(count: u64) -> bool {
    count % 1000 == 1
}

/// A TCP listener behind its connection gate: hands out only the connections to serve.
pub struct GatedListener {
    listener: TcpListener,
    gate: ConnectionGate,
    /// The reply a refused connection gets, from what it sent first.
    busy_answer: fn(&[u8]) -> Vec<u8>,
    accept_errors: AcceptErrors,
}

impl GatedListener {
    pub fn new(
        listener: TcpListener,
        gate: ConnectionGate,
        busy_answer: fn(&[u8]) -> Vec<u8>,
    ) -> GatedListener {
        GatedListener {
            listener,
            gate,
            busy_answer,
            accept_errors: AcceptErrors::new(),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The next connection to serve, with its place under the caps; `None` once `shutdown`
    /// turns true. Connections past the caps are answered busy by a refusal of their own
    /// (or closed, when too many are being refused), and failed accepts (out of
    /// descriptors, mostly) pause the loop instead of spinning it.
    pub async fn next(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<(TcpStream, SocketAddr, Serving)> {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tokio::time::sleep(self.accept_errors.failed(self.gate.what, &e)).await;
                        continue;
                    }
                },
                // The guard `wait_for` returns is not Send: dropped inside.
                _ = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => return None,
            };
            match self.gate.admit(Some(peer.ip())) {
                Admission::Serve(serving) => return Some((stream, peer, serving)),
                Admission::Refuse(permit) => {
                    let answer = self.busy_answer;
                    tokio::spawn(async move {
                        refuse(stream, answer).await;
                        drop(permit);
                    });
                }
                Admission::Drop => {}
            }
        }
    }
}

/// Sends `answer` to a connection we will not serve, after reading what it sends first (up to
/// [`REFUSAL_TIME`]) so that the answer lands as the reply to its request; then closes.
/// `answer` picks the reply from the first bytes read (empty when nothing came).
pub async fn refuse<S>(mut stream: S, answer: impl FnOnce(&[u8]) -> Vec<u8>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut first = [0u8; 64];
    let deadline = tokio::time::Instant::now() + REFUSAL_TIME;
    let read = tokio::time::timeout_at(deadline, stream.read(&mut first))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    let reply = answer(&first[..read]);
    let _ = tokio::time::timeout_at(deadline, async {
        stream.write_all(&reply).await?;
        stream.shutdown().await
    })
    .await;
}

/// The answer an HTTP client gets when the connection cap is reached.
pub fn http_busy_answer(_request: &[u8]) -> Vec<u8> {
    let body = "handsync is serving as many connections as it allows; try again shortly\n";
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Failed accepts (out of descriptors, mostly) are logged once per interval with a count,
/// not ten times a second.
struct AcceptErrors {
    last_logged: Option<Instant>,
    since: u64,
}

impl AcceptErrors {
    const INTERVAL: Duration = Duration::from_secs(30);

    fn new() -> AcceptErrors {
        AcceptErrors {
            last_logged: None,
            since: 0,
        }
    }

    /// Records a failure; the pause before the next accept.
    fn failed(&mut self, listener: &str, error: &std::io::Error) -> Duration {
        self.since += 1;
        let now = Instant::now();
        if self
            .last_logged
            .is_none_or(|last| now.duration_since(last) >= Self::INTERVAL)
        {
            tracing::warn!(
                listener,
                %error,
                failures = self.since,
                "accept failed (logged once per 30 s)"
            );
            self.last_logged = Some(now);
            self.since = 0;
        }
        Duration::from_millis(100)
    }
}

/// Raises this process's soft descriptor limit to its hard limit (systemd starts services
/// at 1,024 soft with a far higher hard limit): the connection caps, not the kernel, decide
/// when peers are refused. Returns the limit in force.
pub fn raise_descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Some(raised.rlim_cur);
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_connections_are_refused_then_dropped() {
        let limits = ConnectionLimits {
            per_listener: 2,
            ..ConnectionLimits::default()
        };
        let gate = ConnectionGate::new("test", &limits);
        let serving: Vec<_> = (0..2)
            .map(|_| match gate.admit(None) {
                Admission::Serve(permit) => permit,
                _ => panic!("within the cap"),
            })
            .collect();
        let refusing: Vec<_> = (0..REFUSALS_AT_ONCE)
            .map(|_| match gate.admit(None) {
                Admission::Refuse(permit) => permit,
                _ => panic!("refusals have room"),
            })
            .collect();
        assert!(matches!(gate.admit(None), Admission::Drop));
        assert_eq!(gate.refused(), REFUSALS_AT_ONCE as u64 + 1);
        drop(serving);
        assert!(matches!(gate.admit(None), Admission::Serve(_)));
        drop(refusing);
    }

    #[test]
    fn one_address_holds_at_most_its_share() {
        let limits = ConnectionLimits {
            per_listener: 10,
            per_address: 3,
            ..ConnectionLimits::default()
        };
        let gate = ConnectionGate::new("test", &limits);
        let flooder = Some(IpAddr::from([192, 0, 2, 66]));
        let phone = Some(IpAddr::from([192, 0, 2, 7]));
        let held: Vec<_> = (0..3)
            .map(|_| match gate.admit(flooder) {
                Admission::Serve(serving) => serving,
                _ => panic!("within its share"),
            })
            .collect();
        assert!(matches!(gate.admit(flooder), Admission::Refuse(_)));
        assert!(matches!(gate.admit(phone), Admission::Serve(_)));
        drop(held);
        assert!(matches!(gate.admit(flooder), Admission::Serve(_)));
    }

    #[test]
    fn an_exempt_peer_is_held_to_the_listeners_cap_only() {
        let limits = ConnectionLimits {
            per_listener: 4,
            per_address: 1,
            ..ConnectionLimits::default()
        };
        let proxy = IpAddr::from([10, 0, 0, 5]);
        let gate = ConnectionGate::new("test", &limits).exempting(Arc::new(move |p| p == proxy));
        let held: Vec<_> = (0..4)
            .map(|_| match gate.admit(Some(proxy)) {
                Admission::Serve(serving) => serving,
                _ => panic!("within the listener's cap"),
            })
            .collect();
        assert!(matches!(gate.admit(Some(proxy)), Admission::Refuse(_)));
        drop(held);
        let phone = Some(IpAddr::from([192, 0, 2, 7]));
        let _one = match gate.admit(phone) {
            Admission::Serve(serving) => serving,
            _ => panic!("its one place"),
        };
        assert!(matches!(gate.admit(phone), Admission::Refuse(_)));
    }

    #[test]
    fn the_busy_http_answer_is_a_complete_response() {
        let answer = String::from_utf8(http_busy_answer(b"POST / HTTP/1.1\r\n")).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains("\r\nRetry-After: 10"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
