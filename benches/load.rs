//! The daemon under load and attack at once, on loopback: 200 phones over HTTP and 50 over
//! OBEX/TCP (the emulator, Nokia E51 profile), each on its own 127.x address, each running
//! a slow sync (the household's 20 shared contacts and one of its own) and then a two-way
//! sync (receiving the others' new contacts), all at once; meanwhile one host
//! (127.0.0.66..78) holds slowloris HTTP connections (a header line every 5 s, reconnecting
//! when dropped), silent OBEX sockets, and a flood of MsgID 1 messages for ever-new devices.
//!
//! Reported: sessions completed, errors by kind, the server's peak RSS and CPU, p50/p99/max
//! latency of an HTTP message (request sent to answer read) and of an OBEX request packet
//! (sent to the response's first byte), how long the attack's connections were held, and
//! what the flood got. The server runs with its defaults except `max-sessions`, raised to
//! 512 so that 250 phones fit at once (the default, 64, is a household's cap: past it phones
//! are told to come back later, which this run would only count).
//!
//! `cargo bench --bench load`; under `cargo test` (no `--bench`) a small run of 8 + 4 phones
//! and a short attack checks the harness and that every phone completes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

mod http_client;
mod process;

use handsync::emulator::{
    generate, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig, PhoneItem, Step, SyncMode,
    SyncRequest, UnixMillis,
};
use handsync::obex::ObexClientConfig;
use handsync::store::Datastore;
use handsync::transport::emulated::phone_starts;
use http_client::connect_from;
use process::{peak_rss_kib, process_cpu};

#[derive(Clone, Copy)]
struct Plan {
    http_phones: usize,
    obex_phones: usize,
    slowloris: usize,
    silent_obex: usize,
    flooders: usize,
    /// The attack goes on at least this long (past the header timeout, to see it act).
    least_duration: Duration,
}

#[derive(Default)]
struct Tally {
    http_latency: Mutex<Vec<Duration>>,
    obex_latency: Mutex<Vec<Duration>>,
    completed: Mutex<BTreeMap<&'static str, usize>>,
    errors: Mutex<BTreeMap<String, usize>>,
    held: Mutex<BTreeMap<&'static str, Vec<Duration>>>,
    flood: Mutex<BTreeMap<u16, usize>>,
    flood_failed: AtomicU64,
}

impl Tally {
    fn error(&self, kind: String) {
        *self.errors.lock().unwrap().entry(kind).or_default() += 1;
    }
    fn completed(&self, transport: &'static str) {
        *self.completed.lock().unwrap().entry(transport).or_default() += 1;
    }
    fn held(&self, what: &'static str, how_long: Duration) {
        self.held
            .lock()
            .unwrap()
            .entry(what)
            .or_default()
            .push(how_long);
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let plan = if quick {
        Plan {
            http_phones: 8,
            obex_phones: 4,
            slowloris: 10,
            silent_obex: 5,
            flooders: 1,
            least_duration: Duration::ZERO,
        }
    } else {
        Plan {
            http_phones: 200,
            obex_phones: 50,
            slowloris: 300,
            silent_obex: 100,
            flooders: 4,
            least_duration: Duration::from_secs(40),
        }
    };
    // The same phones twice, each time with a fresh server: alone, then under attack.
    for attacked in [false, true] {
        let plan = Plan {
            slowloris: if attacked { plan.slowloris } else { 0 },
            silent_obex: if attacked { plan.silent_obex } else { 0 },
            flooders: if attacked { plan.flooders } else { 0 },
            least_duration: if attacked {
                plan.least_duration
            } else {
                Duration::ZERO
            },
            ..plan
        };
        println!(
            "\n== {} ==",
            if attacked {
                "under attack"
            } else {
                "phones alone"
            }
        );
        run(&plan);
    }
}

fn run(plan: &Plan) {
    let dir = std::env::temp_dir().join(format!("handsync-bench-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("handsync")).unwrap();
    std::fs::write(
        dir.join("handsync/config.toml"),
        "[server]\nmax-sessions = 512\n",
    )
    .unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(dir.join("handsync.db"))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--obex-tcp",
            "127.0.0.1:0",
            "--no-bluetooth",
            "--no-desktop",
        ])
        .env("XDG_CONFIG_HOME", &dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .process_group(0)
        .spawn()
        .expect("handsync serve starts");
    let mut lines = BufReader::new(daemon.stdout.take().unwrap()).lines();
    let (mut http, mut obex) = (None, None);
    while http.is_none() || obex.is_none() {
        let line = lines.next().expect("serve prints its addresses").unwrap();
        if let Some(rest) = line.strip_prefix("HTTP: listening on http://") {
            http = Some(rest.trim_end_matches('/').parse::<SocketAddr>().unwrap());
        }
        if let Some(rest) = line.strip_prefix("OBEX over TCP: listening on ") {
            obex = Some(rest.trim().parse::<SocketAddr>().unwrap());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let (http, obex) = (http.unwrap(), obex.unwrap());
    let pid = daemon.id() as i32;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let cpu_before = process_cpu(pid);
    runtime.block_on(async {
        let mut attack = Vec::new();
        for n in 0..plan.slowloris {
            attack.push(tokio::spawn(slowloris(
                http,
                n,
                tally.clone(),
                stop.clone(),
            )));
        }
        for n in 0..plan.silent_obex {
            attack.push(tokio::spawn(silent_obex(
                obex,
                n,
                tally.clone(),
                stop.clone(),
            )));
        }
        for n in 0..plan.flooders {
            attack.push(tokio::spawn(flood(http, n, tally.clone(), stop.clone())));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut phones = Vec::new();
        for n in 0..plan.http_phones {
            phones.push(tokio::spawn(http_phone(http, n, tally.clone())));
        }
        // The OBEX driver's progress callback is not Send: those phones run on this thread.
        let local = tokio::task::LocalSet::new();
        for n in 0..plan.obex_phones {
            phones.push(local.spawn_local(obex_phone(obex, n, tally.clone())));
        }
        local
            .run_until(async {
                for phone in phones {
                    phone.await.unwrap();
                }
            })
            .await;
        let phones_done = started.elapsed();
        if let Some(rest) = plan.least_duration.checked_sub(phones_done) {
            tokio::time::sleep(rest).await;
        }
        stop.store(true, Ordering::SeqCst);
        for task in attack {
            task.abort();
        }
        println!(
            "phones done after {:.1} s; attack stopped after {:.1} s",
            phones_done.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    });
    let cpu = process_cpu(pid).saturating_sub(cpu_before);
    let peak = peak_rss_kib(pid);
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let _ = daemon.wait();

    println!(
        "load: {} HTTP + {} OBEX/TCP phones (slow sync of 21 contacts, then two-way), with {} \
         slowloris HTTP connections, {} silent OBEX sockets and {} MsgID 1 flooders",
        plan.http_phones, plan.obex_phones, plan.slowloris, plan.silent_obex, plan.flooders
    );
    let completed = tally.completed.lock().unwrap().clone();
    println!("sessions completed: {completed:?} (2 per phone expected)");
    println!("errors: {:?}", tally.errors.lock().unwrap());
    println!(
        "server: peak RSS {:.1} MiB, CPU {:.1} s",
        peak as f64 / 1024.0,
        cpu.as_secs_f64()
    );
    for (what, samples) in [
        ("HTTP message", &tally.http_latency),
        ("OBEX request", &tally.obex_latency),
    ] {
        let mut samples = samples.lock().unwrap().clone();
        samples.sort();
        if samples.is_empty() {
            continue;
        }
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
        println!(
            "{what} latency over {} samples: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            samples.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            samples[samples.len() - 1].as_secs_f64() * 1e3
        );
    }
    for (what, held) in tally.held.lock().unwrap().iter() {
        let longest = held.iter().max().copied().unwrap_or_default();
        let at_once = held.iter().filter(|d| **d < Duration::from_secs(3)).count();
        println!(
            "{what}: {} connections let go by the server ({at_once} refused within 3 s), \
             the longest held {:.1} s",
            held.len(),
            longest.as_secs_f64()
        );
    }
    println!(
        "MsgID 1 flood: answers by HTTP status {:?}, {} requests failed at the connection",
        tally.flood.lock().unwrap(),
        tally.flood_failed.load(Ordering::Relaxed)
    );
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    println!(
        "server log: {} lines ({} warnings) in all",
        log.lines().count(),
        log.lines().filter(|l| l.contains(" WARN ")).count()
    );
    let _ = std::fs::remove_dir_all(&dir);

    let expected = 2 * (plan.http_phones + plan.obex_phones);
    let done: usize = completed.values().sum();
    assert_eq!(done, expected, "every phone completes both sessions");
}

/// A loopback source address of its own for client `n` of `group`.
fn source(group: u8, n: usize) -> SocketAddr {
    SocketAddr::from(([127, group, (n / 250) as u8, (n % 250 + 1) as u8], 0))
}

fn now() -> UnixMillis {
    UnixMillis::from_system_time(SystemTime::now())
}

/// A phone of the household: the 20 contacts every phone shares (one address book: the
/// store is single-user) and one of its own, so that each two-way sync brings the phone the
/// others' new contacts.
fn phone(n: usize, prefix: &str) -> EmulatedPhone {
    let mut profile = DeviceProfile::builtin("nokia-e51").expect("the E51 profile");
    profile.device_id = format!("IMEI:{prefix}{n:08}");
    let mut store = generate(&profile, &DataSetSpec::contacts(20, 7));
    store.add(
        Datastore::Contacts,
        PhoneItem::new(
            "text/x-vcard",
            format!(
                "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Load;{prefix} {n}\r\nTEL;CELL:+1555{n:07}\r\nEND:VCARD\r\n"
            ),
        ),
    );
    EmulatedPhone::new(profile, store, PhoneConfig::default())
}

/// One POST on its own connection from `from`: the status and body.
async fn post(
    from: SocketAddr,
    server: SocketAddr,
    target: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let answer = http_client::post_from(from, server, target, content_type, body).await?;
    Ok((answer.status, answer.body))
}

/// Two sessions (slow, then two-way), each tried again after Retry-After when the server
/// is busy.
async fn http_phone(server: SocketAddr, n: usize, tally: Arc<Tally>) {
    let from = source(1, n);
    let mut phone = phone(n, "35100");
    for mode in [SyncMode::Slow, SyncMode::TwoWay] {
        let request = SyncRequest::only(Datastore::Contacts, mode);
        for _attempt in 0..10 {
            match http_session(&mut phone, &request, from, server, &tally).await {
                Ok(()) => {
                    tally.completed("http");
                    break;
                }
                Err(kind) => {
                    phone.abort();
                    let busy = kind.starts_with("HTTP 503");
                    tally.error(kind);
                    if !busy {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        }
    }
}

async fn http_session(
    phone: &mut EmulatedPhone,
    request: &SyncRequest,
    from: SocketAddr,
    server: SocketAddr,
    tally: &Tally,
) -> Result<(), String> {
    let url = format!("http://{server}/sync");
    let mut outgoing = phone
        .start_sync(request, now())
        .map_err(|e| format!("emulator: {e}"))?;
    loop {
        let target = phone.response_uri().unwrap_or(&url).to_string();
        let sent = Instant::now();
        let (status, body) = post(
            from,
            server,
            &target,
            outgoing.content_type(),
            outgoing.bytes.clone(),
        )
        .await?;
        tally.http_latency.lock().unwrap().push(sent.elapsed());
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        match phone.receive(&body, now()) {
            Ok(Step::Send(next)) => outgoing = next,
            Ok(Step::Finished(report)) if report.completed => return Ok(()),
            Ok(Step::Finished(report)) => return Err(format!("not completed: {report:?}")),
            Err(e) => return Err(format!("emulator: {e}")),
        }
    }
}

async fn obex_phone(server: SocketAddr, n: usize, tally: Arc<Tally>) {
    let from = source(2, n);
    let mut phone = Some(phone(n, "35200"));
    for mode in [SyncMode::Slow, SyncMode::TwoWay] {
        let request = SyncRequest::only(Datastore::Contacts, mode);
        for _attempt in 0..10 {
            let stream = match connect_from(from, server).await {
                Ok(stream) => stream,
                Err(e) => {
                    tally.error(format!("OBEX connect: {}", e.kind()));
                    return;
                }
            };
            let timed = Timed {
                inner: stream,
                sent: None,
                tally: tally.clone(),
            };
            let config = ObexClientConfig {
                max_packet_length: 0x4000,
                max_object_size: 4 * 1024 * 1024,
                response_timeout: Some(Duration::from_secs(120)),
            };
            let (back, result) = phone_starts(
                timed,
                phone.take().unwrap(),
                request.clone(),
                config,
                &mut |_| {},
            )
            .await;
            phone = Some(back);
            match result {
                Ok(report) if report.completed => {
                    tally.completed("obex-tcp");
                    break;
                }
                Ok(report) => {
                    tally.error(format!("OBEX not completed: {report:?}"));
                    return;
                }
                Err(e) => {
                    let text = e.to_string();
                    let busy = text.contains("Unavailable");
                    tally.error(if busy {
                        "OBEX 0xD3".into()
                    } else {
                        format!("OBEX: {text}")
                    });
                    if !busy {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        }
    }
}

/// A stream that times each request packet to the first byte of its response.
struct Timed {
    inner: TcpStream,
    sent: Option<Instant>,
    tally: Arc<Tally>,
}

impl AsyncRead for Timed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            if let Some(sent) = self.sent.take() {
                self.tally.obex_latency.lock().unwrap().push(sent.elapsed());
            }
        }
        polled
    }
}

impl AsyncWrite for Timed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.sent.is_none() {
            self.sent = Some(Instant::now());
        }
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Connects from `from`, lets `hold` keep the connection until the server lets go, tallies how
/// long it was held as `what`, and opens again a moment later (as an attacker does: not a
/// connect flood), until `stop`.
async fn hold_connections<Hold, Held>(
    from: SocketAddr,
    server: SocketAddr,
    what: &'static str,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    hold: Hold,
) where
    Hold: Fn(TcpStream) -> Held,
    Held: std::future::Future<Output = ()>,
{
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = connect_from(from, server).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let opened = Instant::now();
        hold(stream).await;
        tally.held(what, opened.elapsed());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Headers that never end, a line every 5 s.
async fn slowloris(server: SocketAddr, n: usize, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let from = SocketAddr::from(([127, 0, 0, 77], 0));
    hold_connections(
        from,
        server,
        "slowloris HTTP",
        tally,
        stop,
        |mut stream| async move {
            let mut wrote = stream
                .write_all(b"POST /sync HTTP/1.1\r\nHost: handsync\r\n")
                .await;
            let mut line = 0;
            let mut buffer = [0u8; 512];
            while wrote.is_ok() {
                tokio::select! {
                    read = stream.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    },
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {
                        line += 1;
                        wrote = stream
                            .write_all(format!("X-Slow-{n}-{line}: 1\r\n").as_bytes())
                            .await;
                    }
                }
            }
        },
    )
    .await
}

/// A socket that never says anything.
async fn silent_obex(server: SocketAddr, _n: usize, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let from = SocketAddr::from(([127, 0, 0, 78], 0));
    hold_connections(
        from,
        server,
        "silent OBEX",
        tally,
        stop,
        |mut stream| async move {
            let mut buffer = [0u8; 64];
            while let Ok(read) = stream.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
            }
        },
    )
    .await
}

/// MsgID 1 messages for ever-new devices, back to back on one kept-alive connection.
async fn flood(server: SocketAddr, n: usize, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let from = SocketAddr::from(([127, 0, 0, 66], 0));
    // One first message; each copy names another device (same length, so WBXML's inline
    // strings stay valid).
    let mut template = phone(0, "FLOOD");
    let first = template
        .start_sync(
            &SyncRequest::only(Datastore::Contacts, SyncMode::Slow),
            now(),
        )
        .unwrap();
    let marker = b"IMEI:FLOOD00000000";
    let at = first
        .bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the device id is in the message");
    let content_type = first.content_type();
    let mut counter = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = connect_from(from, server).await else {
            tally.flood_failed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok((mut sender, connection)) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
        else {
            continue;
        };
        tokio::spawn(connection);
        while !stop.load(Ordering::Relaxed) {
            counter += 1;
            let mut bytes = first.bytes.clone();
            let id = format!("IMEI:FLOOD{n:02}{counter:06}");
            bytes[at..at + marker.len()].copy_from_slice(&id.as_bytes()[..marker.len()]);
            let request = hyper::Request::post("/sync")
                .header(hyper::header::HOST, server.to_string())
                .header(hyper::header::CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(bytes)))
                .unwrap();
            let Ok(response) = sender.send_request(request).await else {
                tally.flood_failed.fetch_add(1, Ordering::Relaxed);
                break;
            };
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await;
            *tally.flood.lock().unwrap().entry(status).or_default() += 1;
        }
    }
}
