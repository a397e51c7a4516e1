//! Request opcodes and response codes (IrOBEX 1.2, sections 3.3 and 3.2.1).

use std::fmt;

/// The final bit of an opcode or a response code.
pub const FINAL_BIT: u8 = 0x80;

/// Flags of a SETPATH request (IrOBEX 3.3.6).
pub mod setpath_flags {
    /// Back up one level before applying the name ("cd ..").
    pub const BACKUP: u8 = 0x01;
    /// Do not create the folder if it does not exist.
    pub const DONT_CREATE: u8 = 0x02;
}

/// The operation a request packet asks for, with the final bit where the operation has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x80.
    Connect,
    /// 0x81.
    Disconnect,
    /// 0x02, or 0x82 when `is_final`.
    Put { is_final: bool },
    /// 0x03, or 0x83 when `is_final`.
    Get { is_final: bool },
    /// 0x85 (SETPATH is always final).
    SetPath,
    /// 0x87 (OBEX 1.3 reliable session).
    Session,
    /// 0xFF.
    Abort,
    /// Any other byte, kept as it is.
    Other(u8),
}

impl Opcode {
    /// Decodes an opcode byte; never fails, unknown bytes become [`Opcode::Other`].
    pub fn from_byte(byte: u8) -> Self {
        match byte {
            0x80 => Opcode::Connect,
            0x81 => Opcode::Disconnect,
            0x02 | 0x82 => Opcode::Put {
                is_final: byte & FINAL_BIT != 0,
            },
            0x03 | 0x83 => Opcode::Get {
                is_final: byte & FINAL_BIT != 0,
            },
            0x85 => Opcode::SetPath,
            0x87 => Opcode::Session,
            0xFF => Opcode::Abort,
            other => Opcode::Other(other),
        }
    }

    /// The byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Opcode::Connect => 0x80,
            Opcode::Disconnect => 0x81,
            Opcode::Put { is_final } => 0x02 | if is_final { FINAL_BIT } else { 0 },
            Opcode::Get { is_final } => 0x03 | if is_final { FINAL_BIT } else { 0 },
            Opcode::SetPath => 0x85,
            Opcode::Session => 0x87,
            Opcode::Abort => 0xFF,
            Opcode::Other(byte) => byte,
        }
    }

    /// Whether a byte at the start of a packet is a request opcode rather than a response code.
    /// Responses use 0x90..=0xEF (always with the final bit), requests 0x00..=0x8F and 0xFF.
    pub fn is_request_byte(byte: u8) -> bool {
        byte < 0x90 || byte == 0xFF
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opcode::Connect => write!(f, "CONNECT"),
            Opcode::Disconnect => write!(f, "DISCONNECT"),
            Opcode::Put { is_final: true } => write!(f, "PUT (final)"),
            Opcode::Put { is_final: false } => write!(f, "PUT"),
            Opcode::Get { is_final: true } => write!(f, "GET (final)"),
            Opcode::Get { is_final: false } => write!(f, "GET"),
            Opcode::SetPath => write!(f, "SETPATH"),
            Opcode::Session => write!(f, "SESSION"),
            Opcode::Abort => write!(f, "ABORT"),
            Opcode::Other(byte) => write!(f, "opcode 0x{byte:02X}"),
        }
    }
}

macro_rules! response_codes {
    ($($variant:ident = $byte:literal, $text:literal;)*) => {
        /// A response code, stored with its final bit (OBEX responses always carry it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ResponseCode {
            $(
                #[doc = concat!($text, " (", stringify!($byte), ").")]
                $variant,
            )*
            /// Any other byte, kept as it is.
            Other(u8),
        }

        impl ResponseCode {
            /// Every named response code, in wire order.
            pub const ALL: &'static [ResponseCode] = &[$(ResponseCode::$variant,)*];

            /// Decodes a response byte; never fails, unknown bytes become [`ResponseCode::Other`].
            pub fn from_byte(byte: u8) -> Self {
                match byte {
                    $($byte => ResponseCode::$variant,)*
                    other => ResponseCode::Other(other),
                }
            }

            /// The byte on the wire.
            pub fn to_byte(self) -> u8 {
                match self {
                    $(ResponseCode::$variant => $byte,)*
                    ResponseCode::Other(byte) => byte,
                }
            }

            /// The name the specification gives this code.
            pub fn name(self) -> &'static str {
                match self {
                    $(ResponseCode::$variant => $text,)*
                    ResponseCode::Other(_) => "Unknown",
                }
            }
        }
    };
}

response_codes! {
    Continue = 0x90, "Continue";
    Ok = 0xA0, "OK, Success";
    Created = 0xA1, "Created";
    Accepted = 0xA2, "Accepted";
    NonAuthoritativeInformation = 0xA3, "Non-Authoritative Information";
    NoContent = 0xA4, "No Content";
    ResetContent = 0xA5, "Reset Content";
    PartialContent = 0xA6, "Partial Content";
    MultipleChoices = 0xB0, "Multiple Choices";
    MovedPermanently = 0xB1, "Moved Permanently";
    MovedTemporarily = 0xB2, "Moved Temporarily";
    SeeOther = 0xB3, "See Other";
    NotModified = 0xB4, "Not Modified";
    UseProxy = 0xB5, "Use Proxy";
    BadRequest = 0xC0, "Bad Request";
    Unauthorized = 0xC1, "Unauthorized";
    PaymentRequired = 0xC2, "Payment Required";
    Forbidden = 0xC3, "Forbidden";
    NotFound = 0xC4, "Not Found";
    MethodNotAllowed = 0xC5, "Method Not Allowed";
    NotAcceptable = 0xC6, "Not Acceptable";
    ProxyAuthenticationRequired = 0xC7, "Proxy Authentication Required";
    RequestTimeout = 0xC8, "Request Time Out";
    Conflict = 0xC9, "Conflict";
    Gone = 0xCA, "Gone";
    LengthRequired = 0xCB, "Length Required";
    PreconditionFailed = 0xCC, "Precondition Failed";
    RequestedEntityTooLarge = 0xCD, "Requested Entity Too Large";
    RequestUrlTooLarge = 0xCE, "Request URL Too Large";
    UnsupportedMediaType = 0xCF, "Unsupported Media Type";
    InternalServerError = 0xD0, "Internal Server Error";
    NotImplemented = 0xD1, "Not Implemented";
    BadGateway = 0xD2, "Bad Gateway";
    ServiceUnavailable = 0xD3, "Service Unavailable";
    GatewayTimeout = 0xD4, "Gateway Timeout";
    HttpVersionNotSupported = 0xD5, "HTTP Version Not Supported";
    DatabaseFull = 0xE0, "Database Full";
    DatabaseLocked = 0xE1, "Database Locked";
}

impl ResponseCode {
    /// 2xx: the request succeeded.
    pub fn is_success(self) -> bool {
        (0xA0..=0xAF).contains(&self.to_byte())
    }

    /// Whether the peer answers this way when it is busy with something else (a phone in a
    /// call or already syncing answers 0xD3 or 0xC3).
    pub fn means_busy(self) -> bool {
        matches!(
            self,
            ResponseCode::ServiceUnavailable | ResponseCode::Forbidden
        )
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X} {}", self.to_byte(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opcode_round_trips_through_its_byte() {
        let named = [
            (0x80, Opcode::Connect),
            (0x81, Opcode::Disconnect),
            (0x02, Opcode::Put { is_final: false }),
            (0x82, Opcode::Put { is_final: true }),
            (0x03, Opcode::Get { is_final: false }),
            (0x83, Opcode::Get { is_final: true }),
            (0x85, Opcode::SetPath),
            (0x87, Opcode::Session),
            (0xFF, Opcode::Abort),
        ];
        for (byte, opcode) in named {
            assert_eq!(Opcode::from_byte(byte), opcode);
            assert_eq!(opcode.to_byte(), byte);
        }
        for byte in 0..=255u8 {
            assert_eq!(Opcode::from_byte(byte).to_byte(), byte);
        }
        assert_eq!(Opcode::from_byte(0x84), Opcode::Other(0x84));
    }

    #[test]
    fn every_response_code_round_trips_through_its_byte() {
        for byte in 0..=255u8 {
            assert_eq!(ResponseCode::from_byte(byte).to_byte(), byte);
        }
        assert_eq!(ResponseCode::ALL.len(), 38);
        assert_eq!(ResponseCode::from_byte(0xC4), ResponseCode::NotFound);
        assert_eq!(
            ResponseCode::from_byte(0xCD),
            ResponseCode::RequestedEntityTooLarge
        );
        assert_eq!(
            ResponseCode::from_byte(0xD3),
            ResponseCode::ServiceUnavailable
        );
        assert_eq!(ResponseCode::from_byte(0xE7), ResponseCode::Other(0xE7));
        assert_eq!(
            ResponseCode::ServiceUnavailable.to_string(),
            "0xD3 Service Unavailable"
        );
    }

    #[test]
    fn success_and_busy_classification() {
        assert!(ResponseCode::Ok.is_success());
        assert!(ResponseCode::Created.is_success());
        assert!(!ResponseCode::Continue.is_success());
        assert!(ResponseCode::ServiceUnavailable.means_busy());
        assert!(ResponseCode::Forbidden.means_busy());
        assert!(!ResponseCode::NotFound.means_busy());
    }

    #[test]
    fn request_and_response_bytes_do_not_overlap() {
        for code in ResponseCode::ALL {
            assert!(!Opcode::is_request_byte(code.to_byte()));
        }
        assert!(Opcode::is_request_byte(0x80));
        assert!(Opcode::is_request_byte(0xFF));
    }
}
