//! Normal response mode: one connection's windows, acknowledgements, retransmission and
//! timers, for either role.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{
    After, DisconnectReason, Lap, LapError, LapEvent, Outgoing, ProtocolError, State,
    SEND_QUEUE_LIMIT, TIMER_SLACK,
};
use crate::irda::frame::{Frame, FrameError, FrameKind, FrameReject};
use crate::irda::qos::Negotiated;
use crate::irda::CONTACT_SPEED;

/// The primary's idle poll interval starts here and doubles with each exchange that
/// carried no data, up to [`IDLE_POLL_MAX`]: an idle link costs a few frames a second,
/// and new data waits at most that long for a poll.
const IDLE_POLL_MIN: Duration = Duration::from_millis(10);
const IDLE_POLL_MAX: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Token {
    /// We hold the P/F bit and send from `at` on (the primary's idle poll waits).
    Ours { at: Instant },
    /// The peer holds it; the F (primary) or WD (secondary) timer runs once our last
    /// frame has left.
    Theirs { deadline: Option<Instant> },
}

#[derive(Debug)]
pub(super) struct Link {
    pub(super) connection: u8,
    pub(super) primary: bool,
    pub(super) negotiated: Negotiated,
    /// Next Ns to send and next Ns expected.
    vs: u8,
    vr: u8,
    /// Sent, not yet acknowledged, oldest first (the oldest has Ns = vs - len).
    unacked: VecDeque<Vec<u8>>,
    /// Not yet sent.
    queue: VecDeque<Vec<u8>>,
    remote_busy: bool,
    /// An I-frame arrived out of sequence: answer REJ.
    reject: bool,
    /// Secondary: the frame-reject condition, answered FRMR until DISC.
    rejected: Option<FrameReject>,
    /// The link is to end: the primary sends DISC, the secondary RD.
    closing: Option<DisconnectReason>,
    disc_attempts: u8,
    token: Token,
    /// Timer expiries without a frame from the peer, and the limit (N2) derived from the
    /// disconnect threshold.
    retries: u32,
    n2: u32,
    /// How long the timer waits after our P/F frame has left.
    timer_wait: Duration,
    /// Primary: exchanges in a row without data, for the idle poll interval.
    idle_polls: u32,
    moved_data: bool,
}

impl Link {
    pub(super) fn new(
        connection: u8,
        primary: bool,
        negotiated: Negotiated,
        own_min_turnaround: Duration,
        now: Instant,
    ) -> Link {
        // F: the secondary waits our minimum turnaround, then holds the line at most as
        // long as we allowed. WD: the primary may also wait out an idle poll and hold
        // the line as long as the secondary allowed.
        let f_wait = own_min_turnaround + negotiated.peer_max_turnaround + TIMER_SLACK;
        let wd_wait = 2 * negotiated
            .peer_max_turnaround
            .max(negotiated.max_turnaround)
            + IDLE_POLL_MAX
            + TIMER_SLACK;
        let timer_wait = if primary { f_wait } else { wd_wait };
        let threshold = negotiated.disconnect_threshold.as_micros();
        let n2 = threshold.div_ceil(timer_wait.as_micros().max(1)).max(1) as u32;
        Link {
            connection,
            primary,
            negotiated,
            vs: 0,
            vr: 0,
            unacked: VecDeque::new(),
            queue: VecDeque::new(),
            remote_busy: false,
            reject: false,
            rejected: None,
            closing: None,
            disc_attempts: 0,
            token: if primary {
                Token::Ours { at: now }
            } else {
                Token::Theirs { deadline: None }
            },
            retries: 0,
            n2,
            timer_wait,
            idle_polls: 0,
            moved_data: false,
        }
    }

    pub(super) fn queue_pdu(
        &mut self,
        data: Vec<u8>,
        now: Option<Instant>,
    ) -> Result<(), LapError> {
        if self.closing.is_some() {
            return Err(LapError::NotConnected);
        }
        if data.len() > self.negotiated.data_size {
            return Err(LapError::TooLong {
                len: data.len(),
                limit: self.negotiated.data_size,
            });
        }
        if self.send_window_free() == 0 {
            return Err(LapError::QueueFull);
        }
        self.queue.push_back(data);
        self.wake(now);
        Ok(())
    }

    pub(super) fn send_window_free(&self) -> usize {
        if self.closing.is_some() {
            return 0;
        }
        SEND_QUEUE_LIMIT.saturating_sub(self.queue.len() + self.unacked.len())
    }

    /// Something to say: an idle primary polls now instead of at its idle interval.
    pub(super) fn wake(&mut self, now: Option<Instant>) {
        if let (Token::Ours { at }, Some(now)) = (&mut self.token, now) {
            *at = (*at).min(now);
            self.idle_polls = 0;
        }
    }

    pub(super) fn request_disconnect(&mut self, now: Instant, reason: DisconnectReason) {
        if self.closing.is_none() {
            self.closing = Some(reason);
        }
        self.wake(Some(now));
    }

    pub(super) fn timeout(&self) -> Option<Instant> {
        match self.token {
            Token::Ours { at } => Some(at),
            Token::Theirs { deadline } => deadline,
        }
    }

    /// Drops the frames `nr` acknowledges; false when `nr` names a frame never sent.
    fn acknowledge(&mut self, nr: u8) -> bool {
        let outstanding = self.unacked.len() as u8;
        let oldest = self.vs.wrapping_sub(outstanding) & 7;
        let acknowledged = nr.wrapping_sub(oldest) & 7;
        if acknowledged > outstanding {
            return false;
        }
        self.unacked.drain(..usize::from(acknowledged));
        true
    }

    /// The peer passed the P/F bit: whatever it did not acknowledge was lost and goes
    /// again (go back N), ahead of what was never sent.
    fn requeue_unacknowledged(&mut self) {
        let count = self.unacked.len() as u8;
        while let Some(data) = self.unacked.pop_back() {
            self.queue.push_front(data);
        }
        self.vs = self.vs.wrapping_sub(count) & 7;
    }

    fn frame(&self, poll_final: bool, kind: FrameKind) -> Frame {
        Frame {
            connection: self.connection,
            command: self.primary,
            poll_final,
            kind,
        }
    }

    /// Our turn: what fits in the window and in one turn's line capacity, the P/F bit on
    /// the last frame.
    fn burst(&mut self, local_busy: bool) -> Vec<Frame> {
        if self.primary && self.closing.is_some() {
            self.disc_attempts += 1;
            return vec![self.frame(true, FrameKind::Disc)];
        }
        if !self.primary {
            if let Some(reject) = self.rejected {
                return vec![self.frame(true, FrameKind::Frmr(reject))];
            }
            if self.closing.is_some() {
                return vec![self.frame(true, FrameKind::Rd)];
            }
        }
        let capacity = self.negotiated.line_capacity();
        let overhead = 6 + usize::from(self.negotiated.extra_bofs);
        let mut frames = Vec::new();
        let mut used = 0;
        while !self.remote_busy && self.unacked.len() < usize::from(self.negotiated.window) {
            let Some(front) = self.queue.front() else {
                break;
            };
            let cost = front.len() + overhead;
            if !frames.is_empty() && used + cost > capacity {
                break;
            }
            used += cost;
            let data = self.queue.pop_front().unwrap_or_default();
            frames.push(self.frame(
                false,
                FrameKind::Information {
                    ns: self.vs,
                    nr: self.vr,
                    data: data.clone(),
                },
            ));
            self.unacked.push_back(data);
            self.vs = (self.vs + 1) & 7;
        }
        self.moved_data |= !frames.is_empty();
        if frames.is_empty() || local_busy || self.reject {
            let nr = self.vr;
            let kind = if local_busy {
                FrameKind::ReceiveNotReady { nr }
            } else if self.reject {
                FrameKind::Reject { nr }
            } else {
                FrameKind::ReceiveReady { nr }
            };
            self.reject = false;
            frames.push(self.frame(false, kind));
        }
        if let Some(last) = frames.last_mut() {
            last.poll_final = true;
        }
        frames
    }

    fn token_received(&mut self, now: Instant) {
        self.requeue_unacknowledged();
        let at = if !self.primary || self.closing.is_some() {
            now
        } else {
            let have_data = !self.queue.is_empty() && !self.remote_busy;
            if have_data || self.moved_data || self.reject {
                self.idle_polls = 0;
                now
            } else {
                let interval =
                    (IDLE_POLL_MIN * 2u32.pow(self.idle_polls.min(8))).min(IDLE_POLL_MAX);
                self.idle_polls += 1;
                now + interval
            }
        };
        self.moved_data = false;
        self.token = Token::Ours { at };
    }

    /// Secondary: a frame it cannot take puts it in the frame-reject condition.
    fn reject_frame(&mut self, control: u8, reason: FrameReject) {
        if self.rejected.is_none() {
            self.rejected = Some(FrameReject {
                rejected_control: control,
                vs: self.vs,
                vr: self.vr,
                rejected_response: false,
                ..reason
            });
        }
    }
}

/// What a frame received on the link does beyond the link's own state.
enum Outcome {
    Continue,
    End(DisconnectReason),
    /// Secondary: answer with `frame` at the link speed, then end.
    AnswerAndEnd(Frame, DisconnectReason),
}

impl Lap {
    /// A frame while connected: `bytes` raw (for the address of undecodable frames).
    pub(super) fn link_frame(
        &mut self,
        now: Instant,
        bytes: &[u8],
        decoded: Result<Frame, FrameError>,
    ) {
        let local_busy = self.local_busy();
        let State::Connected(link) = &mut self.state else {
            return;
        };
        let (Some(&address), control) = (bytes.first(), bytes.get(1).copied().unwrap_or(0)) else {
            return;
        };
        let command = address & 0x01 != 0;
        if address >> 1 != link.connection || command == link.primary {
            return;
        }
        self.release_at = Some(now + link.negotiated.min_turnaround);
        link.retries = 0;
        let poll_final = control & 0x10 != 0;
        let mut delivered = None;
        let outcome = match decoded {
            Err(error) => {
                if link.primary {
                    link.closing.get_or_insert(DisconnectReason::ProtocolError(
                        ProtocolError::BadFrame(error),
                    ));
                } else {
                    let reason = FrameReject {
                        undefined_control: matches!(error, FrameError::UnknownControl { .. }),
                        unexpected_information: !matches!(error, FrameError::UnknownControl { .. }),
                        ..FrameReject::default()
                    };
                    link.reject_frame(control, reason);
                }
                Outcome::Continue
            }
            Ok(frame) => link.receive(frame, local_busy, &mut delivered),
        };
        if let Some(data) = delivered {
            self.data_events += 1;
            self.events.push_back(LapEvent::Data(data));
        }
        let State::Connected(link) = &mut self.state else {
            return;
        };
        match outcome {
            Outcome::Continue => {
                if poll_final {
                    link.token_received(now);
                } else if let Token::Theirs {
                    deadline: Some(deadline),
                } = &mut link.token
                {
                    // The peer is mid-turn: give it the rest of its turn from here.
                    *deadline = (*deadline).max(now + link.timer_wait);
                }
            }
            Outcome::End(reason) => self.end_link(reason),
            Outcome::AnswerAndEnd(answer, reason) => {
                let (speed, extra_bofs) = (self.speed, link.negotiated.extra_bofs);
                self.end_link(reason);
                self.speed = speed;
                self.outgoing.push_back(Outgoing {
                    frame: answer.encode(),
                    speed,
                    extra_bofs,
                    after: After::SwitchSpeed(CONTACT_SPEED),
                });
            }
        }
    }

    pub(super) fn link_timeout(&mut self, now: Instant) {
        let State::Connected(link) = &mut self.state else {
            return;
        };
        let Token::Theirs {
            deadline: Some(deadline),
        } = link.token
        else {
            return;
        };
        if deadline > now {
            return;
        }
        link.retries += 1;
        if link.primary {
            if let Some(reason) = link
                .closing
                .clone()
                .filter(|_| link.disc_attempts >= super::DISC_ATTEMPTS)
            {
                self.end_link(reason);
            } else if link.retries >= link.n2 && link.closing.is_none() {
                self.end_link(DisconnectReason::LinkLost);
            } else {
                // The F-timer: poll again (RR with P); the answer's Nr says what to resend.
                link.moved_data = false;
                link.token = Token::Ours { at: now };
            }
        } else if link.retries >= link.n2 {
            self.end_link(DisconnectReason::LinkLost);
        } else {
            link.token = Token::Theirs {
                deadline: Some(now + link.timer_wait),
            };
        }
    }

    /// Our turn has come (token ours and due): queue the burst.
    pub(super) fn build_burst(&mut self, now: Instant) {
        let local_busy = self.local_busy();
        let State::Connected(link) = &mut self.state else {
            return;
        };
        let Token::Ours { at } = link.token else {
            return;
        };
        if at > now {
            return;
        }
        let frames = link.burst(local_busy);
        link.token = Token::Theirs { deadline: None };
        let last = frames.len().saturating_sub(1);
        for (index, frame) in frames.into_iter().enumerate() {
            self.outgoing.push_back(Outgoing {
                frame: frame.encode(),
                speed: self.speed,
                extra_bofs: link.negotiated.extra_bofs,
                after: if index == last {
                    After::PassToken
                } else {
                    After::Nothing
                },
            });
        }
    }

    pub(super) fn token_passed(&mut self, air_end: Instant) {
        if let State::Connected(link) = &mut self.state {
            if let Token::Theirs { deadline } = &mut link.token {
                *deadline = Some(air_end + link.timer_wait);
            }
        }
    }
}

impl Link {
    fn receive(
        &mut self,
        frame: Frame,
        local_busy: bool,
        delivered: &mut Option<Vec<u8>>,
    ) -> Outcome {
        let control = frame.control();
        if !self.primary {
            match frame.kind {
                FrameKind::Disc => {
                    let reason = if self.closing.is_some() {
                        DisconnectReason::Requested
                    } else {
                        DisconnectReason::ByPeer
                    };
                    return Outcome::AnswerAndEnd(self.frame(true, FrameKind::Ua(None)), reason);
                }
                FrameKind::Snrm(_) => {
                    return Outcome::AnswerAndEnd(
                        self.frame(true, FrameKind::Dm),
                        DisconnectReason::ProtocolError(ProtocolError::ResetRequested),
                    )
                }
                _ if self.rejected.is_some() => return Outcome::Continue,
                _ => {}
            }
        }
        let nr = match &frame.kind {
            FrameKind::Information { nr, .. }
            | FrameKind::ReceiveReady { nr }
            | FrameKind::ReceiveNotReady { nr }
            | FrameKind::Reject { nr }
            | FrameKind::SelectiveReject { nr } => Some(*nr),
            _ => None,
        };
        if let Some(nr) = nr {
            if !self.acknowledge(nr) {
                let error = ProtocolError::InvalidNr { nr, vs: self.vs };
                if self.primary {
                    self.closing
                        .get_or_insert(DisconnectReason::ProtocolError(error));
                } else {
                    self.reject_frame(
                        control,
                        FrameReject {
                            invalid_nr: true,
                            ..FrameReject::default()
                        },
                    );
                }
                return Outcome::Continue;
            }
        }
        match frame.kind {
            FrameKind::Information { ns, data, .. } => {
                let limit = self.negotiated.receive_data_size;
                if data.len() > limit {
                    if self.primary {
                        self.closing.get_or_insert(DisconnectReason::ProtocolError(
                            ProtocolError::TooLong {
                                len: data.len(),
                                limit,
                            },
                        ));
                    } else {
                        self.reject_frame(
                            control,
                            FrameReject {
                                information_too_long: true,
                                ..FrameReject::default()
                            },
                        );
                    }
                } else if ns != self.vr {
                    self.reject = true;
                } else if !local_busy {
                    // While busy the frame is dropped; the peer resends it after our RR.
                    self.vr = (self.vr + 1) & 7;
                    self.moved_data = true;
                    *delivered = Some(data);
                }
            }
            FrameKind::ReceiveNotReady { .. } => self.remote_busy = true,
            FrameKind::ReceiveReady { .. }
            | FrameKind::Reject { .. }
            | FrameKind::SelectiveReject { .. } => self.remote_busy = false,
            // Responses only the primary acts on.
            FrameKind::Rd if self.primary => {
                self.closing.get_or_insert(DisconnectReason::ByPeer);
            }
            FrameKind::Frmr(reject) if self.primary => {
                self.closing.get_or_insert(DisconnectReason::ProtocolError(
                    ProtocolError::Rejected(reject),
                ));
            }
            FrameKind::Rnrm if self.primary => {
                self.closing.get_or_insert(DisconnectReason::ProtocolError(
                    ProtocolError::ResetRequested,
                ));
            }
            FrameKind::Dm if self.primary => {
                return Outcome::End(self.closing.clone().unwrap_or(DisconnectReason::ByPeer))
            }
            FrameKind::Ua(_) if self.primary && self.disc_attempts > 0 => {
                return Outcome::End(self.closing.clone().unwrap_or(DisconnectReason::Requested))
            }
            // UI, TEST, XID and stray frames change nothing on the link.
            _ => {}
        }
        Outcome::Continue
    }
}
