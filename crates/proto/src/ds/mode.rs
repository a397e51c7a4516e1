//! The sync types of SyncML DS and their Alert codes.

use crate::syncml::AlertCode;

/// A sync type, as a client asks for it and as a session settles it. The server-alerted
/// codes 206..210 fold into the plain modes; [`SyncMode::server_alerted_code`] gives them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMode {
    TwoWay,
    Slow,
    OneWayFromClient,
    RefreshFromClient,
    OneWayFromServer,
    RefreshFromServer,
}

impl SyncMode {
    /// Every mode, in Alert-code order.
    pub const ALL: [SyncMode; 6] = [
        SyncMode::TwoWay,
        SyncMode::Slow,
        SyncMode::OneWayFromClient,
        SyncMode::RefreshFromClient,
        SyncMode::OneWayFromServer,
        SyncMode::RefreshFromServer,
    ];

    /// The mode of a sync Alert (200..210); `None` for any other code.
    pub fn from_alert(code: AlertCode) -> Option<SyncMode> {
        Some(match code.code() {
            200 | 206 => SyncMode::TwoWay,
            201 => SyncMode::Slow,
            202 | 207 => SyncMode::OneWayFromClient,
            203 | 208 => SyncMode::RefreshFromClient,
            204 | 209 => SyncMode::OneWayFromServer,
            205 | 210 => SyncMode::RefreshFromServer,
            _ => return None,
        })
    }

    /// The Alert code a client sends on its own initiative (200..205).
    pub fn alert_code(self) -> AlertCode {
        match self {
            SyncMode::TwoWay => AlertCode::TwoWay,
            SyncMode::Slow => AlertCode::SlowSync,
            SyncMode::OneWayFromClient => AlertCode::OneWayFromClient,
            SyncMode::RefreshFromClient => AlertCode::RefreshFromClient,
            SyncMode::OneWayFromServer => AlertCode::OneWayFromServer,
            SyncMode::RefreshFromServer => AlertCode::RefreshFromServer,
        }
    }

    /// The Alert code a client sends after a server's notification (206..210). A slow sync
    /// has no server-alerted form and stays 201.
    pub fn server_alerted_code(self) -> AlertCode {
        match self {
            SyncMode::TwoWay => AlertCode::TwoWayByServer,
            SyncMode::Slow => AlertCode::SlowSync,
            SyncMode::OneWayFromClient => AlertCode::OneWayFromClientByServer,
            SyncMode::RefreshFromClient => AlertCode::RefreshFromClientByServer,
            SyncMode::OneWayFromServer => AlertCode::OneWayFromServerByServer,
            SyncMode::RefreshFromServer => AlertCode::RefreshFromServerByServer,
        }
    }

    /// Whether the server sends its changes in this mode.
    pub fn server_sends(self) -> bool {
        !matches!(
            self,
            SyncMode::OneWayFromClient | SyncMode::RefreshFromClient
        )
    }

    /// Whether the client sends its changes (or everything) in this mode.
    pub fn client_sends(self) -> bool {
        !matches!(
            self,
            SyncMode::OneWayFromServer | SyncMode::RefreshFromServer
        )
    }

    /// Whether the client sends everything it holds rather than its changes.
    pub fn sends_everything(self) -> bool {
        matches!(self, SyncMode::Slow | SyncMode::RefreshFromClient)
    }

    /// The name used on the command line and in reports, from the phone's point of view.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::TwoWay => "two-way",
            SyncMode::Slow => "slow",
            SyncMode::OneWayFromClient => "one-way-from-phone",
            SyncMode::RefreshFromClient => "refresh-from-phone",
            SyncMode::OneWayFromServer => "one-way-from-pc",
            SyncMode::RefreshFromServer => "refresh-from-pc",
        }
    }

    /// The mode of a name given by [`SyncMode::name`].
    pub fn from_name(name: &str) -> Option<SyncMode> {
        SyncMode::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_alerted_sync_types_fold_into_the_plain_ones() {
        for (code, mode) in [
            (200, SyncMode::TwoWay),
            (206, SyncMode::TwoWay),
            (201, SyncMode::Slow),
            (202, SyncMode::OneWayFromClient),
            (207, SyncMode::OneWayFromClient),
            (208, SyncMode::RefreshFromClient),
            (209, SyncMode::OneWayFromServer),
            (210, SyncMode::RefreshFromServer),
        ] {
            assert_eq!(SyncMode::from_alert(AlertCode::from_code(code)), Some(mode));
        }
        assert_eq!(SyncMode::from_alert(AlertCode::NextMessage), None);
    }

    #[test]
    fn both_alert_codes_of_every_mode_map_back_to_it() {
        for mode in SyncMode::ALL {
            assert_eq!(SyncMode::from_alert(mode.alert_code()), Some(mode));
            assert_eq!(SyncMode::from_alert(mode.server_alerted_code()), Some(mode));
            assert!((200..=205).contains(&mode.alert_code().code()));
        }
        assert_eq!(SyncMode::TwoWay.server_alerted_code().code(), 206);
        assert_eq!(SyncMode::Slow.server_alerted_code().code(), 201);
        assert_eq!(
            SyncMode::RefreshFromServer.server_alerted_code().code(),
            210
        );
    }

    #[test]
    fn who_sends_what() {
        assert!(!SyncMode::RefreshFromClient.server_sends());
        assert!(!SyncMode::OneWayFromServer.client_sends());
        assert!(SyncMode::TwoWay.client_sends() && SyncMode::TwoWay.server_sends());
        assert!(SyncMode::Slow.sends_everything());
        assert!(!SyncMode::OneWayFromClient.sends_everything());
    }

    #[test]
    fn names_round_trip() {
        for mode in SyncMode::ALL {
            assert_eq!(SyncMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(SyncMode::from_name("sideways"), None);
    }
}
