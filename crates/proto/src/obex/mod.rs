//! OBEX (IrDA Object Exchange 1.2/1.3), sans-IO: the packet codec, a server and a client
//! session machine, and the SyncML OBEX binding on top.
//!
//! Every machine here takes received bytes (in chunks of any size, one byte at a time
//! included), hands out bytes to send and events, and is told the time by its caller; none
//! owns a socket, a thread or a clock. Transports (RFCOMM, serial, IrDA, USB, TCP) drive them.
//!
//! - [`packet`], [`header`], [`codes`]: the codec ([`Request`], [`Response`], [`Header`],
//!   [`PacketReader`] which cuts a stream into packets of bounded size);
//! - [`server::ObexServer`] and [`client::ObexClient`]: generic OBEX sessions;
//! - [`syncml::SyncmlServer`] (the phone starts) and [`syncml::SyncmlClient`] (the PC starts,
//!   with a SAN): the SyncML binding, handing SyncML messages up as bytes + content type;
//! - [`describe()`]: a readable account of a captured stream.
//!
//! Every machine implements [`crate::machine::Machine`] and is driven the same way; a
//! transport's loop looks like this:
//!
//! ```
//! use std::time::Instant;
//! use handsync_proto::machine::Machine;
//! use handsync_proto::obex::{ObexServerConfig, SyncmlEvent, SyncmlMessage, SyncmlServer};
//!
//! let mut server = SyncmlServer::new(ObexServerConfig::default());
//! # let received_from_phone: Vec<u8> = Vec::new();
//! // Bytes from the link, in whatever chunks it delivers them:
//! server.handle_input(Instant::now(), &received_from_phone);
//! while let Some(packet) = server.poll_transmit() {
//!     // write `packet` to the link
//! #   let _ = packet;
//! }
//! while let Some(event) = server.poll_event() {
//!     if let SyncmlEvent::MessageReceived(message) = event {
//!         // hand `message.bytes` to the SyncML engine; later, its reply:
//!         let reply = SyncmlMessage::new(message.content_type, b"...".to_vec());
//!         server.send_reply(reply).expect("one reply per message");
//!     }
//! }
//! // Wake up at `server.poll_timeout()` and call `server.handle_timeout(now)`.
//! ```

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

pub use client::{ClientError, ClientEvent, ObexClient, ObexClientConfig, OperationKind};
pub use server::{
    GetAnswer, ObexServer, ObexServerConfig, ReceivedObject, Refusal, ServerError, ServerEvent,
};
pub use syncml::{
    ObexBindingError, SyncmlClient, SyncmlContentType, SyncmlEvent, SyncmlMessage, SyncmlServer,
    SYNCML_TARGET,
};

#[cfg(test)]
mod session_tests;
