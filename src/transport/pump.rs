//! The one driver of every sans-IO [`Machine`] on a tokio byte stream: it writes what the
//! machine sends, reads what the link delivers, sleeps until the machine's timer, and hands
//! the machine's events to the caller, who acts on them (through [`Pump::machine_mut`]) and
//! asks for the next. End of stream and IO errors end it the same way for every transport.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::machine::Machine;

/// Why [`Pump::next_event`] gave no event.
#[derive(Debug)]
pub(crate) enum PumpError {
    /// The stream ended.
    Closed,
    Io(io::Error),
    /// Nothing arrived within the silence bound (see [`Pump::with_silence`]).
    Silent,
}

pub(crate) struct Pump<S, M> {
    stream: S,
    machine: M,
    buffer: Vec<u8>,
    silence: Option<Duration>,
}

impl<S, M> Pump<S, M>
where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Machine,
{
    pub(crate) fn new(stream: S, machine: M) -> Pump<S, M> {
        Pump {
            stream,
            machine,
            buffer: vec![0u8; 16 * 1024],
            silence: None,
        }
    }

    /// Gives up with [`PumpError::Silent`] when nothing arrives for `silence` and the
    /// machine has no timer due before it (for machines that wait on their peer without one).
    pub(crate) fn with_silence(mut self, silence: Duration) -> Pump<S, M> {
        self.silence = Some(silence);
        self
    }

    /// Changes the silence bound from the next read on.
    pub(crate) fn set_silence(&mut self, silence: Duration) {
        self.silence = Some(silence);
    }

    pub(crate) fn machine_mut(&mut self) -> &mut M {
        &mut self.machine
    }

    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    pub(crate) fn into_machine(self) -> M {
        self.machine
    }

    /// Writes what the machine has to send.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let mut wrote = false;
        while let Some(bytes) = self.machine.poll_transmit() {
            tracing::trace!(bytes = ?String::from_utf8_lossy(&bytes), "sent");
            self.stream.write_all(&bytes).await?;
            wrote = true;
        }
        if wrote {
            self.stream.flush().await?;
        }
        Ok(())
    }

    /// The machine's next event, moving bytes and time until there is one.
    pub(crate) async fn next_event(&mut self) -> Result<M::Event, PumpError> {
        loop {
            self.flush().await.map_err(PumpError::Io)?;
            if let Some(event) = self.machine.poll_event() {
                return Ok(event);
            }
            let timer = self.machine.poll_timeout();
            let give_up = self.silence.map(|silence| Instant::now() + silence);
            let (deadline, timer_first) = match (timer, give_up) {
                (Some(timer), Some(give_up)) if timer <= give_up => (Some(timer), true),
                (Some(timer), None) => (Some(timer), true),
                (_, give_up) => (give_up, false),
            };
            let read = self.stream.read(&mut self.buffer);
            let read = match deadline {
                // None: the deadline passed first.
                Some(deadline) => tokio::time::timeout_at(deadline.into(), read).await.ok(),
                None => Some(read.await),
            };
            match read {
                Some(Ok(0)) => return Err(PumpError::Closed),
                Some(Ok(n)) => {
                    let input = &self.buffer[..n];
                    tracing::trace!(bytes = ?String::from_utf8_lossy(input), "received");
                    self.machine.handle_input(Instant::now(), input);
                }
                Some(Err(e)) => return Err(PumpError::Io(e)),
                None if timer_first => self.machine.handle_timeout(Instant::now()),
                None => return Err(PumpError::Silent),
            }
        }
    }
}
