//! OBEX (IrDA Object Exchange 1.2/1.3), sans-IO: the packet codec, a server and a client
//! session machine, and the SyncML OBEX binding on top.
//!
//! Every machine here takes received bytes (in chunks of any size, one byte at a time
//! included), hands out bytes to send and events, and is told the time by its caller; none
//! owns a socket, a thread or a clock. Transports (RFCOMM, serial, IrDA, USB, TCP) drive them.

pub mod codes;
pub mod describe;
pub mod error;
pub mod header;
pub mod packet;

pub use codes::{Opcode, ResponseCode};
pub use describe::describe;
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use header::{Header, HeaderEncoding, RawHeader};
pub use packet::{
    ConnectFields, PacketReader, ReadOutcome, Request, Response, ResponseTo, SetPathFields,
};

mod chunker;
pub mod client;
pub mod server;
pub mod syncml;

pub use client::{ClientConfig, ClientError, ClientEvent, ObexClient, OperationKind};
pub use server::{
    GetAnswer, ObexServer, ReceivedObject, Refusal, ServerConfig, ServerError, ServerEvent,
};
pub use syncml::{
    SyncmlClient, SyncmlContentType, SyncmlError, SyncmlEvent, SyncmlMessage, SyncmlServer,
    SYNCML_TARGET,
};

#[cfg(test)]
mod session_tests;
