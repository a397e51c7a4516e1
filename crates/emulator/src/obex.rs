//! The emulated phone on OBEX, both ways round, sans-IO: bytes in, packets out, timers handed
//! in. A TCP, pty or Bluetooth driver moves the bytes.
//!
//! - [`PhoneStartsObex`]: the phone is the OBEX client (as when the user presses "Sync" on the
//!   handset): CONNECT with Target `SYNCML-SYNC`, PUT each message, GET the PC's answer.
//! - [`PcStartsObex`]: the phone is the OBEX server (as when the PC suite starts the sync): the
//!   PC connects, PUTs a notification, GETs our first message, then PUTs each message and GETs
//!   our answer.
//!
//! Both map the OBEX machines' `Instant`s to the phone's wall clock with the pair given at
//! construction, so the phone's anchors and transcripts have real times.

use std::collections::VecDeque;
use std::time::Instant;

use super::client::{EmulatedPhone, Outgoing, SessionReport, Step, SyncRequest};
use super::error::EmulatorError;
use super::UnixMillis;
use handsync_proto::machine::Machine;
use handsync_proto::obex::{
    ObexClientConfig, ObexServerConfig, ResponseCode, SyncmlClient, SyncmlContentType, SyncmlEvent,
    SyncmlMessage, SyncmlServer,
};
use handsync_proto::syncml::Encoding;

/// What a driver hears from an OBEX-wrapped phone.
#[derive(Debug)]
pub enum PhoneEvent {
    /// The OBEX connection is up.
    Connected,
    /// The SyncML session completed or ended (see the report's `completed`).
    SessionFinished(SessionReport),
    /// The session failed: the server's input was bad, or OBEX failed. The phone is back to
    /// idle (as after a cut).
    Failed(String),
    /// The PC's notification could not be used (the phone refused its GET with Unsupported
    /// Media Type); the connection stays up for another try.
    NotificationRefused(String),
    /// The OBEX connection ended.
    Disconnected,
}

/// Maps an OBEX `Instant` to the phone's wall clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    base: Instant,
    wall: UnixMillis,
}

impl Clock {
    fn at(&self, now: Instant) -> UnixMillis {
        let elapsed = now.saturating_duration_since(self.base).as_millis();
        UnixMillis(self.wall.0 + u64::try_from(elapsed).unwrap_or(u64::MAX))
    }
}

fn obex_message(outgoing: &Outgoing) -> SyncmlMessage {
    let content_type = match outgoing.encoding {
        Encoding::Wbxml => SyncmlContentType::Wbxml,
        Encoding::Xml => SyncmlContentType::Xml,
    };
    SyncmlMessage::new(content_type, outgoing.bytes.clone())
}

// Both OBEX roles of the phone are [`Machine`]s, so one driver moves the bytes of either.
macro_rules! phone_machine {
    ($type:ty) => {
        impl Machine for $type {
            type Event = PhoneEvent;

            fn handle_input(&mut self, now: Instant, input: &[u8]) {
                self.obex.handle_input(now, input);
                self.process(now);
            }

            fn poll_transmit(&mut self) -> Option<Vec<u8>> {
                self.obex.poll_transmit()
            }

            fn poll_event(&mut self) -> Option<PhoneEvent> {
                self.events.pop_front()
            }

            fn poll_timeout(&self) -> Option<Instant> {
                self.obex.poll_timeout()
            }

            fn handle_timeout(&mut self, now: Instant) {
                self.obex.handle_timeout(now);
                self.process(now);
            }
        }
    };
}

phone_machine!(PhoneStartsObex);
phone_machine!(PcStartsObex);

/// The phone starts: an OBEX client carrying the phone's SyncML client.
#[derive(Debug)]
pub struct PhoneStartsObex {
    phone: EmulatedPhone,
    obex: SyncmlClient,
    clock: Clock,
    request: Option<SyncRequest>,
    events: VecDeque<PhoneEvent>,
}

impl PhoneStartsObex {
    /// `base` and `wall` name the same moment, in the OBEX machine's and the phone's clocks.
    pub fn new(
        phone: EmulatedPhone,
        config: ObexClientConfig,
        base: Instant,
        wall: UnixMillis,
    ) -> PhoneStartsObex {
        PhoneStartsObex {
            phone,
            obex: SyncmlClient::new(config),
            clock: Clock { base, wall },
            request: None,
            events: VecDeque::new(),
        }
    }

    pub fn phone(&self) -> &EmulatedPhone {
        &self.phone
    }

    pub fn phone_mut(&mut self) -> &mut EmulatedPhone {
        &mut self.phone
    }

    pub fn into_phone(self) -> EmulatedPhone {
        self.phone
    }

    /// Connects; the session starts once the PC accepts the connection.
    pub fn start(&mut self, now: Instant, request: SyncRequest) -> Result<(), EmulatorError> {
        if self.phone.in_session() || self.request.is_some() {
            return Err(EmulatorError::WrongState("a session is already running"));
        }
        self.obex
            .connect(now)
            .map_err(|_| EmulatorError::WrongState("the OBEX connection is already up"))?;
        self.request = Some(request);
        Ok(())
    }

    fn fail(&mut self, now: Instant, why: String) {
        self.phone.abort();
        self.request = None;
        self.events.push_back(PhoneEvent::Failed(why));
        let _ = self.obex.disconnect(now);
    }

    fn send(&mut self, now: Instant, outgoing: &Outgoing) {
        if let Err(e) = self.obex.send(now, obex_message(outgoing), true) {
            self.fail(now, format!("OBEX PUT: {e}"));
        }
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.obex.poll_event() {
            match event {
                SyncmlEvent::Connected => {
                    self.events.push_back(PhoneEvent::Connected);
                    let Some(request) = self.request.take() else {
                        continue;
                    };
                    match self.phone.start_sync(&request, self.clock.at(now)) {
                        Ok(outgoing) => self.send(now, &outgoing),
                        Err(e) => self.fail(now, e.to_string()),
                    }
                }
                SyncmlEvent::MessageReceived(message) => {
                    if !self.phone.in_session() {
                        continue;
                    }
                    match self.phone.receive(&message.bytes, self.clock.at(now)) {
                        Ok(Step::Send(outgoing)) => self.send(now, &outgoing),
                        Ok(Step::Finished(report)) => {
                            self.events.push_back(PhoneEvent::SessionFinished(report));
                            let _ = self.obex.disconnect(now);
                        }
                        Err(e) => self.fail(now, e.to_string()),
                    }
                }
                SyncmlEvent::MessageSent => {}
                SyncmlEvent::SessionEnded => {
                    if self.phone.in_session() {
                        self.phone.abort();
                        self.events
                            .push_back(PhoneEvent::Failed("the PC ended the OBEX session".into()));
                    }
                    self.events.push_back(PhoneEvent::Disconnected);
                }
                SyncmlEvent::Error(e) => {
                    if self.phone.in_session() || self.request.is_some() {
                        self.fail(now, e.to_string());
                    }
                }
            }
        }
    }
}

/// The PC starts: an OBEX server carrying the phone's SyncML client.
#[derive(Debug)]
pub struct PcStartsObex {
    phone: EmulatedPhone,
    obex: SyncmlServer,
    clock: Clock,
    events: VecDeque<PhoneEvent>,
}

impl PcStartsObex {
    /// `base` and `wall` name the same moment, in the OBEX machine's and the phone's clocks.
    pub fn new(
        phone: EmulatedPhone,
        config: ObexServerConfig,
        base: Instant,
        wall: UnixMillis,
    ) -> PcStartsObex {
        PcStartsObex {
            phone,
            obex: SyncmlServer::new(config),
            clock: Clock { base, wall },
            events: VecDeque::new(),
        }
    }

    pub fn phone(&self) -> &EmulatedPhone {
        &self.phone
    }

    pub fn phone_mut(&mut self) -> &mut EmulatedPhone {
        &mut self.phone
    }

    pub fn into_phone(self) -> EmulatedPhone {
        self.phone
    }

    fn reply(&mut self, outgoing: &Outgoing) {
        if let Err(e) = self.obex.send_reply(obex_message(outgoing)) {
            self.phone.abort();
            self.events
                .push_back(PhoneEvent::Failed(format!("OBEX reply: {e}")));
        }
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.obex.poll_event() {
            match event {
                SyncmlEvent::Connected => self.events.push_back(PhoneEvent::Connected),
                SyncmlEvent::MessageReceived(message) => {
                    let wall = self.clock.at(now);
                    if !self.phone.in_session() {
                        // The PC's first PUT is the notification (a SAN, or a SyncML 1.1 alert).
                        let started = self
                            .phone
                            .notification_request(&message.bytes)
                            .and_then(|request| self.phone.start_sync(&request, wall));
                        match started {
                            Ok(outgoing) => self.reply(&outgoing),
                            Err(e) => {
                                // Refused at once, as phones do: the PC may try another form.
                                let _ = self.obex.refuse_reply(ResponseCode::UnsupportedMediaType);
                                self.events
                                    .push_back(PhoneEvent::NotificationRefused(e.to_string()));
                            }
                        }
                        continue;
                    }
                    match self.phone.receive(&message.bytes, wall) {
                        Ok(Step::Send(outgoing)) => self.reply(&outgoing),
                        Ok(Step::Finished(report)) => {
                            self.events.push_back(PhoneEvent::SessionFinished(report))
                        }
                        Err(e) => self.events.push_back(PhoneEvent::Failed(e.to_string())),
                    }
                }
                SyncmlEvent::MessageSent => {}
                SyncmlEvent::SessionEnded => {
                    if self.phone.in_session() {
                        self.phone.abort();
                        self.events
                            .push_back(PhoneEvent::Failed("the PC ended the OBEX session".into()));
                    }
                    self.events.push_back(PhoneEvent::Disconnected);
                }
                SyncmlEvent::Error(e) => {
                    if self.phone.in_session() {
                        self.phone.abort();
                        self.events.push_back(PhoneEvent::Failed(e.to_string()));
                    }
                }
            }
        }
    }
}
