//! A phone's end of a data cable, sans-IO: the AT dialogue that switches it to OBEX and back
//! ([`at`]), and the Siemens BFB framing that older Siemens phones carry OBEX in ([`bfb`]).

pub mod at;
pub mod bfb;
