//! The tokio driver of the sans-IO [`Station`]: frames between the station and a dongle, the
//! station's timers, and its OBEX byte stream handed to the OBEX drivers as an ordinary
//! `AsyncRead + AsyncWrite` (one end of an in-memory duplex pipe).

use std::io;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use handsync_proto::irda::pcap::{self, Direction};
use handsync_proto::irda::station::{Station, StationEvent};
use handsync_proto::irda::{Received, Transmit};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use super::port::IrdaPort;

/// OBEX bytes buffered between the station and the OBEX driver, each way.
const OBEX_PIPE: usize = 64 * 1024;

/// Frames written as a pcap capture (LINKTYPE_LINUX_IRDA), for tshark or Wireshark.
pub struct Capture {
    file: std::fs::File,
}

impl Capture {
    pub fn create(path: &Path) -> io::Result<Capture> {
        use std::io::Write;
        let mut file = std::fs::File::create(path)?;
        file.write_all(&pcap::file_header())?;
        Ok(Capture { file })
    }

    /// Goes on writing a capture [`Capture::create`] started (the next link on the dongle).
    pub fn append(path: &Path) -> io::Result<Capture> {
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        Ok(Capture { file })
    }

    fn frame(&mut self, direction: Direction, frame: &[u8]) {
        use std::io::Write;
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // A capture is a diagnostic: a full disk must not end the sync.
        if let Err(e) = self
            .file
            .write_all(&pcap::record(since_epoch, direction, frame))
        {
            tracing::warn!("IrDA capture: {e}");
        }
    }
}

/// What the driver tells its owner while it runs.
#[derive(Debug)]
pub enum LinkNotice {
    Station(StationEvent),
}

/// How a link's driver ended.
#[derive(Debug)]
pub enum LinkEnd {
    /// The OBEX side let go and the station closed the link.
    Closed,
    /// The station reported the end (link lost, refused...): its last event.
    Station(StationEvent),
    /// The owner stopped it.
    Stopped,
}

/// One station on one dongle: its OBEX stream and its notices.
pub struct Link {
    pub obex: DuplexStream,
    pub notices: mpsc::UnboundedReceiver<LinkNotice>,
    pub commands: mpsc::UnboundedSender<LinkCommand>,
    pub task: tokio::task::JoinHandle<(IrdaPort, io::Result<LinkEnd>)>,
}

/// What the owner asks of a running station.
#[derive(Debug)]
pub enum LinkCommand {
    Discover,
    OpenObex(handsync_proto::irda::DeviceAddress),
    CloseObex,
    Stop,
}

/// Starts driving `station` on `port` in a task.
pub fn start(port: IrdaPort, station: Station, capture: Option<Capture>) -> Link {
    let (obex, station_side) = tokio::io::duplex(OBEX_PIPE);
    let (notice_tx, notices) = mpsc::unbounded_channel();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(drive(
        port,
        station,
        station_side,
        capture,
        notice_tx,
        command_rx,
    ));
    Link {
        obex,
        notices,
        commands,
        task,
    }
}

async fn drive(
    mut port: IrdaPort,
    mut station: Station,
    obex: DuplexStream,
    mut capture: Option<Capture>,
    notices: mpsc::UnboundedSender<LinkNotice>,
    mut commands: mpsc::UnboundedReceiver<LinkCommand>,
) -> (IrdaPort, io::Result<LinkEnd>) {
    let (mut obex_read, mut obex_write): (ReadHalf<DuplexStream>, WriteHalf<DuplexStream>) =
        tokio::io::split(obex);
    let mut from_obex = vec![0u8; 4096];
    let mut to_obex: Vec<u8> = Vec::new();
    let mut obex_reader_open = true;
    let result = async {
        loop {
            let now = Instant::now();
            while let Some(tx) = station.poll_transmit() {
                send(&mut port, &mut capture, &tx).await?;
            }
            if port.speed() != station.speed() {
                port.set_speed(station.speed()).await?;
            }
            while let Some(event) = station.poll_event() {
                let ends = event.ends_link();
                let _ = notices.send(LinkNotice::Station(event.clone()));
                if ends {
                    return Ok(LinkEnd::Station(event));
                }
            }
            while let Some(bytes) = station.read_obex() {
                to_obex.extend_from_slice(&bytes);
            }
            let deadline = station
                .poll_timeout()
                .unwrap_or(now + Duration::from_secs(3600));
            let room = station.obex_room();
            tokio::select! {
                received = port.recv() => {
                    let received = received?;
                    if let (Some(capture), Received::Frame(frame)) = (capture.as_mut(), &received) {
                        capture.frame(Direction::Incoming, frame);
                    }
                    station.handle_received(Instant::now(), received);
                }
                read = obex_read.read(&mut from_obex[..room.min(4096)]),
                    if obex_reader_open && room > 0 => {
                    match read? {
                        0 => {
                            obex_reader_open = false;
                            station.close_obex(Instant::now());
                        }
                        n => station.write_obex(&from_obex[..n]),
                    }
                }
                written = obex_write.write(&to_obex), if !to_obex.is_empty() => {
                    let n = written?;
                    to_obex.drain(..n);
                }
                command = commands.recv() => {
                    let now = Instant::now();
                    match command {
                        Some(LinkCommand::Discover) => station.discover(now),
                        Some(LinkCommand::OpenObex(peer)) => station.open_obex(now, peer),
                        Some(LinkCommand::CloseObex) => station.close_obex(now),
                        Some(LinkCommand::Stop) | None => {
                            station.shut_down(now);
                            flush_closing(&mut port, &mut station, &mut capture).await?;
                            return Ok(LinkEnd::Stopped);
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    station.handle_timeout(Instant::now());
                }
            }
        }
    }
    .await;
    (port, result)
}

/// Sends what the station has left (its DISC) and gives it a moment to be answered.
async fn flush_closing(
    port: &mut IrdaPort,
    station: &mut Station,
    capture: &mut Option<Capture>,
) -> io::Result<()> {
    let give_up = Instant::now() + Duration::from_millis(1500);
    while station.is_linked() && Instant::now() < give_up {
        while let Some(tx) = station.poll_transmit() {
            send(port, capture, &tx).await?;
        }
        let deadline = station.poll_timeout().unwrap_or(give_up).min(give_up);
        tokio::select! {
            received = port.recv() => station.handle_received(Instant::now(), received?),
            _ = tokio::time::sleep_until(deadline.into()) => station.handle_timeout(Instant::now()),
        }
    }
    Ok(())
}

async fn send(
    port: &mut IrdaPort,
    capture: &mut Option<Capture>,
    transmit: &Transmit,
) -> io::Result<()> {
    if let Some(capture) = capture.as_mut() {
        capture.frame(Direction::Outgoing, &transmit.frame);
    }
    port.send(transmit).await
}
