//! One IAS connection's protocol state, server side and client side.
//!
//! A message longer than a frame goes out frame by frame: the sender holds each next frame
//! until the receiver acknowledges the previous one (a frame with the ACK bit), and marks the
//! final frame with LST. Either side accepts a message one query at a time.

use std::collections::VecDeque;

use super::{
    ack_frame, split_frames, FrameControl, GetValueByClass, IasDatabase, IasDecodeError,
    IasDecodeErrorKind, IasResponse, GET_VALUE_BY_CLASS, MAX_MESSAGE_LEN,
};

fn frame_error(kind: IasDecodeErrorKind) -> IasDecodeError {
    IasDecodeError { offset: 0, kind }
}

/// Appends a frame's payload to a message being reassembled, bounded by [`MAX_MESSAGE_LEN`].
fn append_bounded(message: &mut Vec<u8>, payload: &[u8]) -> Result<(), IasDecodeError> {
    if message.len() + payload.len() > MAX_MESSAGE_LEN {
        return Err(frame_error(IasDecodeErrorKind::MessageTooLong {
            limit: MAX_MESSAGE_LEN,
        }));
    }
    message.extend_from_slice(payload);
    Ok(())
}

/// The server side of one IAS connection (a peer querying our database).
#[derive(Debug, Default)]
pub struct ServerSession {
    /// Request frames received so far (a request split over frames).
    request: Vec<u8>,
    request_opcode: Option<u8>,
    /// Answer frames held until the client acknowledges the one before.
    answer: VecDeque<Vec<u8>>,
}

impl ServerSession {
    pub fn new() -> ServerSession {
        ServerSession::default()
    }

    /// Whether an answer is still being sent (frames wait for the client's acknowledgements).
    pub fn is_answering(&self) -> bool {
        !self.answer.is_empty()
    }

    /// Takes one frame from the client and returns the frames to send back. `max_frame` is
    /// the most one frame may hold (the LM data size).
    pub fn handle_frame(
        &mut self,
        database: &IasDatabase,
        frame: &[u8],
        max_frame: usize,
    ) -> Result<Vec<Vec<u8>>, IasDecodeError> {
        let (&control_byte, payload) = frame
            .split_first()
            .ok_or_else(|| frame_error(IasDecodeErrorKind::EmptyFrame))?;
        let control = FrameControl::from_byte(control_byte);
        if control.ack {
            // The client took our previous frame: the next one goes. A stray ACK is harmless.
            return Ok(self.answer.pop_front().into_iter().collect());
        }
        if self.is_answering() {
            return Err(frame_error(IasDecodeErrorKind::RequestWhileAnswering));
        }
        match self.request_opcode {
            Some(opcode) if opcode != control.opcode => {
                self.request.clear();
                self.request_opcode = None;
                return Err(frame_error(IasDecodeErrorKind::UnexpectedOpcode {
                    opcode: control.opcode,
                }));
            }
            _ => self.request_opcode = Some(control.opcode),
        }
        if let Err(error) = append_bounded(&mut self.request, payload) {
            self.request.clear();
            self.request_opcode = None;
            return Err(error);
        }
        if !control.last {
            return Ok(vec![ack_frame(control.opcode)]);
        }
        let request = std::mem::take(&mut self.request);
        self.request_opcode = None;
        let response = if control.opcode == GET_VALUE_BY_CLASS {
            database.get_value_by_class(&GetValueByClass::decode(&request)?)
        } else {
            IasResponse::Failed(super::return_code::UNSUPPORTED)
        };
        self.answer = split_frames(control.opcode, &response.encode(), max_frame).into();
        Ok(self.answer.pop_front().into_iter().collect())
    }
}

/// What the client side does after a frame.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientStep {
    /// A frame to send (the next request frame, or the acknowledgement of an answer frame).
    pub send: Option<Vec<u8>>,
    /// The complete answer, once its last frame arrived.
    pub answer: Option<IasResponse>,
}

#[derive(Debug, Default)]
enum ClientState {
    #[default]
    Idle,
    /// Request frames not yet sent, each waiting for the acknowledgement of the one before.
    Requesting(VecDeque<Vec<u8>>),
    /// The answer so far.
    AwaitingAnswer(Vec<u8>),
}

/// The client side of one IAS connection: one query at a time.
#[derive(Debug, Default)]
pub struct ClientSession {
    state: ClientState,
}

impl ClientSession {
    pub fn new() -> ClientSession {
        ClientSession::default()
    }

    pub fn is_idle(&self) -> bool {
        matches!(self.state, ClientState::Idle)
    }

    /// Starts a query; returns its first frame. Any query under way is forgotten.
    pub fn start(&mut self, request: &GetValueByClass, max_frame: usize) -> Vec<u8> {
        let mut frames: VecDeque<Vec<u8>> =
            split_frames(GET_VALUE_BY_CLASS, &request.encode(), max_frame).into();
        let first = frames.pop_front().unwrap_or_default();
        self.state = if frames.is_empty() {
            ClientState::AwaitingAnswer(Vec::new())
        } else {
            ClientState::Requesting(frames)
        };
        first
    }

    /// Takes one frame from the server. An error leaves the session idle.
    pub fn handle_frame(&mut self, frame: &[u8]) -> Result<ClientStep, IasDecodeError> {
        let result = self.step(frame);
        if result.is_err() {
            self.state = ClientState::Idle;
        }
        result
    }

    fn step(&mut self, frame: &[u8]) -> Result<ClientStep, IasDecodeError> {
        let (&control_byte, payload) = frame
            .split_first()
            .ok_or_else(|| frame_error(IasDecodeErrorKind::EmptyFrame))?;
        let control = FrameControl::from_byte(control_byte);
        let unexpected = || {
            frame_error(IasDecodeErrorKind::UnexpectedFrame {
                control: control_byte,
            })
        };
        if control.opcode != GET_VALUE_BY_CLASS {
            return Err(frame_error(IasDecodeErrorKind::UnexpectedOpcode {
                opcode: control.opcode,
            }));
        }
        match &mut self.state {
            ClientState::Idle => Err(unexpected()),
            ClientState::Requesting(frames) => {
                if !control.ack {
                    return Err(unexpected());
                }
                let next = frames.pop_front();
                if frames.is_empty() {
                    self.state = ClientState::AwaitingAnswer(Vec::new());
                }
                Ok(ClientStep {
                    send: next,
                    answer: None,
                })
            }
            ClientState::AwaitingAnswer(answer) => {
                if control.ack {
                    return Err(unexpected());
                }
                append_bounded(answer, payload)?;
                if !control.last {
                    return Ok(ClientStep {
                        send: Some(ack_frame(control.opcode)),
                        answer: None,
                    });
                }
                let body = std::mem::take(answer);
                self.state = ClientState::Idle;
                Ok(ClientStep {
                    send: None,
                    answer: Some(IasResponse::decode(&body)?),
                })
            }
        }
    }
}
