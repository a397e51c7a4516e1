//! SyncML status codes (the `Data` of `Status`) and alert codes (the `Data` of `Alert`).

/// Declares a code enum: the variants with their number and meaning, an `Other` variant for
/// numbers without a variant, and the conversions.
macro_rules! code_enum {
    (
        $(#[$attr:meta])*
        $name:ident { $( $(#[$vattr:meta])* $variant:ident = $code:literal => $meaning:literal, )* }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vattr])* $variant, )*
            /// A number without a variant of its own. [`Self::from_code`] never builds it for
            /// a number that has one, so two equal codes always compare equal.
            Other(u16),
        }

        impl $name {
            /// Every named variant, in numeric order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The variant for a number (`Other` when it has none).
            pub fn from_code(code: u16) -> $name {
                match code {
                    $( $code => $name::$variant, )*
                    other => $name::Other(other),
                }
            }

            pub fn code(self) -> u16 {
                match self {
                    $( $name::$variant => $code, )*
                    $name::Other(code) => code,
                }
            }

            /// The meaning the specification gives the code.
            pub fn meaning(self) -> &'static str {
                match self {
                    $( $name::$variant => $meaning, )*
                    $name::Other(code) => Self::range_meaning(code),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} ({})", self.code(), self.meaning())
            }
        }
    };
}

code_enum! {
    /// A SyncML status code (SyncML Representation Protocol 1.2, chapter "Response Status
    /// Codes"; the same numbers in 1.0 and 1.1).
    StatusCode {
        InProgress = 101 => "in progress",
        Ok = 200 => "OK",
        ItemAdded = 201 => "item added",
        AcceptedForProcessing = 202 => "accepted for processing",
        NonAuthoritativeResponse = 203 => "non-authoritative response",
        NoContent = 204 => "no content",
        ResetContent = 205 => "reset content",
        PartialContent = 206 => "partial content",
        ConflictResolvedWithMerge = 207 => "conflict resolved with merge",
        ConflictResolvedWithClientWinning = 208 => "conflict resolved with client's command winning",
        ConflictResolvedWithDuplicate = 209 => "conflict resolved with duplicate",
        DeleteWithoutArchive = 210 => "delete without archive",
        ItemNotDeleted = 211 => "item not deleted: not found",
        AuthenticationAccepted = 212 => "authentication accepted",
        ChunkedItemAccepted = 213 => "chunked item accepted and buffered",
        OperationCancelled = 214 => "operation cancelled",
        NotExecuted = 215 => "not executed",
        AtomicRollBackOk = 216 => "atomic roll back OK",
        MultipleChoices = 300 => "multiple choices",
        MovedPermanently = 301 => "moved permanently",
        Found = 302 => "found",
        SeeOther = 303 => "see other URI",
        NotModified = 304 => "not modified",
        UseProxy = 305 => "use proxy",
        BadRequest = 400 => "bad request",
        InvalidCredentials = 401 => "invalid credentials",
        PaymentRequired = 402 => "payment required",
        Forbidden = 403 => "forbidden",
        NotFound = 404 => "not found",
        CommandNotAllowed = 405 => "command not allowed",
        OptionalFeatureNotSupported = 406 => "optional feature not supported",
        MissingCredentials = 407 => "missing credentials",
        RequestTimeout = 408 => "request timeout",
        Conflict = 409 => "conflict",
        Gone = 410 => "gone",
        SizeRequired = 411 => "size required",
        IncompleteCommand = 412 => "incomplete command",
        RequestEntityTooLarge = 413 => "request entity too large",
        UriTooLong = 414 => "URI too long",
        UnsupportedMediaType = 415 => "unsupported media type or format",
        RequestedSizeTooBig = 416 => "requested size too big",
        RetryLater = 417 => "retry later",
        AlreadyExists = 418 => "already exists",
        ConflictResolvedWithServerData = 419 => "conflict resolved with server data",
        DeviceFull = 420 => "device full",
        UnknownSearchGrammar = 421 => "unknown search grammar",
        BadCgiScript = 422 => "bad CGI script",
        SoftDeleteConflict = 423 => "soft-delete conflict",
        SizeMismatch = 424 => "size mismatch",
        PermissionDenied = 425 => "permission denied",
        PartialItemNotAccepted = 426 => "partial item not accepted",
        ItemNotEmpty = 427 => "item not empty",
        MoveFailed = 428 => "move failed",
        CommandFailed = 500 => "command failed",
        CommandNotImplemented = 501 => "command not implemented",
        BadGateway = 502 => "bad gateway",
        ServiceUnavailable = 503 => "service unavailable",
        GatewayTimeout = 504 => "gateway timeout",
        DtdVersionNotSupported = 505 => "DTD version not supported",
        ProcessingError = 506 => "processing error",
        AtomicFailed = 507 => "atomic failed",
        RefreshRequired = 508 => "refresh required",
        Reserved509 = 509 => "reserved for future use",
        DataStoreFailure = 510 => "data store failure",
        ServerFailure = 511 => "server failure",
        SynchronizationFailed = 512 => "synchronization failed",
        ProtocolVersionNotSupported = 513 => "protocol version not supported",
        OperationCancelledByRecipient = 514 => "operation cancelled",
        AtomicRollBackFailed = 516 => "atomic roll back failed",
        AtomicResponseTooLarge = 517 => "atomic response too large to fit",
    }
}

impl StatusCode {
    /// 2xx: the command succeeded (possibly with a remark, like 207 merged or 213 buffered).
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.code())
    }

    /// 4xx and 5xx: the originator's or the recipient's failure.
    pub fn is_error(self) -> bool {
        self.code() >= 400
    }

    fn range_meaning(code: u16) -> &'static str {
        match code {
            100..=199 => "informational (no meaning of its own)",
            200..=299 => "successful (no meaning of its own)",
            300..=399 => "redirection (no meaning of its own)",
            400..=499 => "originator exception (no meaning of its own)",
            500..=599 => "recipient exception (no meaning of its own)",
            _ => "not a SyncML status code",
        }
    }
}

code_enum! {
    /// An alert code (SyncML DS Protocol: sync types, 200..210; session control, 221..225;
    /// user interaction, 100).
    AlertCode {
        Display = 100 => "display: show the data to the user",
        TwoWay = 200 => "two-way sync",
        SlowSync = 201 => "slow sync",
        OneWayFromClient = 202 => "one-way sync from client only",
        RefreshFromClient = 203 => "refresh sync from client only",
        OneWayFromServer = 204 => "one-way sync from server only",
        RefreshFromServer = 205 => "refresh sync from server only",
        TwoWayByServer = 206 => "two-way sync alerted by server",
        OneWayFromClientByServer = 207 => "one-way sync from client only, alerted by server",
        RefreshFromClientByServer = 208 => "refresh sync from client only, alerted by server",
        OneWayFromServerByServer = 209 => "one-way sync from server only, alerted by server",
        RefreshFromServerByServer = 210 => "refresh sync from server only, alerted by server",
        ResultAlert = 221 => "result alert: request for the sync results",
        NextMessage = 222 => "next message: request for the next message of the package",
        NoEndOfData = 223 => "no end of data: the end of data for chunked object not received",
        Suspend = 224 => "suspend the session",
        Resume = 225 => "resume a suspended session",
    }
}

impl AlertCode {
    /// Whether this alert starts a sync of a datastore (200..210), as opposed to session
    /// control or user interaction.
    pub fn is_sync_type(self) -> bool {
        (200..=210).contains(&self.code())
    }

    /// The DevInf `SyncType` number (1..7) advertising support for this sync type.
    pub fn devinf_sync_type(self) -> Option<u32> {
        match self {
            AlertCode::TwoWay => Some(1),
            AlertCode::SlowSync => Some(2),
            AlertCode::OneWayFromClient => Some(3),
            AlertCode::RefreshFromClient => Some(4),
            AlertCode::OneWayFromServer => Some(5),
            AlertCode::RefreshFromServer => Some(6),
            AlertCode::TwoWayByServer
            | AlertCode::OneWayFromClientByServer
            | AlertCode::RefreshFromClientByServer
            | AlertCode::OneWayFromServerByServer
            | AlertCode::RefreshFromServerByServer => Some(7),
            _ => None,
        }
    }

    fn range_meaning(code: u16) -> &'static str {
        match code {
            100..=199 => "user interaction alert (no meaning of its own)",
            200..=299 => "sync alert (no meaning of its own)",
            _ => "not a SyncML DS alert code",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_status_code_round_trips_through_its_number() {
        for &code in StatusCode::KNOWN {
            assert_eq!(StatusCode::from_code(code.code()), code);
            assert!(!code.meaning().contains("no meaning"), "{code:?}");
        }
        assert_eq!(StatusCode::from_code(200), StatusCode::Ok);
        assert_eq!(StatusCode::from_code(418).meaning(), "already exists");
        assert_eq!(StatusCode::from_code(299), StatusCode::Other(299));
        assert!(StatusCode::Other(299).is_success());
        assert!(StatusCode::ChunkedItemAccepted.is_success());
        assert!(!StatusCode::MissingCredentials.is_success());
        assert!(StatusCode::MissingCredentials.is_error());
        assert!(!StatusCode::MultipleChoices.is_error());
        assert_eq!(StatusCode::Ok.to_string(), "200 (OK)");
    }

    #[test]
    fn alert_codes_know_their_sync_types() {
        for &code in AlertCode::KNOWN {
            assert_eq!(AlertCode::from_code(code.code()), code);
        }
        assert_eq!(AlertCode::from_code(201), AlertCode::SlowSync);
        assert!(AlertCode::SlowSync.is_sync_type());
        assert!(!AlertCode::NextMessage.is_sync_type());
        assert_eq!(AlertCode::RefreshFromServer.devinf_sync_type(), Some(6));
        assert_eq!(AlertCode::from_code(1201), AlertCode::Other(1201));
        assert_eq!(
            AlertCode::Other(1201).meaning(),
            "not a SyncML DS alert code"
        );
    }
}
