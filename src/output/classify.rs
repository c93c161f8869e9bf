//! How outputs classify themselves: the methods every router, checker and view
//! uses instead of its own match over every variant.

use super::kind::{OutputKind, Recipient};
use super::{Output, To};
use crate::ids::{RoomId, SessionId};

impl Output {
    /// What kind of output this is.
    #[must_use]
    pub fn kind(&self) -> OutputKind {
        match self {
            Output::Reply { .. } => OutputKind::Reply,
            Output::AdminReply { .. } => OutputKind::AdminReply,
            Output::RoomStateChanged { .. } => OutputKind::RoomStateChanged,
            Output::MembersJoined { .. } => OutputKind::MembersJoined,
            Output::MembersLeft { .. } => OutputKind::MembersLeft,
            Output::RoomCreated { .. } => OutputKind::RoomCreated,
            Output::RoomDestroyed { .. } => OutputKind::RoomDestroyed,
            Output::SessionClosed { .. } => OutputKind::SessionClosed,
            Output::RoomAttributesUpdated { .. } => OutputKind::RoomAttributesUpdated,
            Output::RoomMessage { .. } => OutputKind::RoomMessage,
            Output::RoomMembersChanged { .. } => OutputKind::RoomMembersChanged,
            Output::RoomMemberAttributesUpdated { .. } => OutputKind::RoomMemberAttributesUpdated,
            Output::MemberJoined { .. } => OutputKind::MemberJoined,
            Output::MemberLeft { .. } => OutputKind::MemberLeft,
        }
    }

    /// The trace `type` of this output.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Who the output is for.
    #[must_use]
    pub fn recipient(&self) -> Recipient {
        match self {
            Output::Reply { session, .. }
            | Output::RoomStateChanged { session, .. }
            | Output::SessionClosed { session, .. } => Recipient::Session(*session),
            Output::MembersJoined { to, .. }
            | Output::MembersLeft { to, .. }
            | Output::RoomAttributesUpdated { to, .. }
            | Output::RoomMessage { to, .. }
            | Output::RoomMemberAttributesUpdated { to, .. } => match to {
                To::Session(session) => Recipient::Session(*session),
                To::Sessions(run) => Recipient::Sessions(*run),
            },
            Output::RoomMembersChanged { room_id, .. } => Recipient::Room(*room_id),
            Output::AdminReply { .. }
            | Output::RoomCreated { .. }
            | Output::RoomDestroyed { .. }
            | Output::MemberJoined { .. }
            | Output::MemberLeft { .. } => Recipient::Service,
        }
    }

    /// The session this output is addressed to (`None` for outputs to a room or to the
    /// service).
    #[must_use]
    pub fn session(&self) -> Option<SessionId> {
        match self.recipient() {
            Recipient::Session(s) => Some(s),
            Recipient::Sessions(_) | Recipient::Room(_) | Recipient::Service => None,
        }
    }

    /// The addressee of a member event addressed to sessions (`members_joined`,
    /// `members_left`, `room_message`, `room_attributes_updated`,
    /// `room_member_attributes_updated`); `None` for every other output.
    #[must_use]
    pub fn to(&self) -> Option<To> {
        match self {
            Output::MembersJoined { to, .. }
            | Output::MembersLeft { to, .. }
            | Output::RoomAttributesUpdated { to, .. }
            | Output::RoomMessage { to, .. }
            | Output::RoomMemberAttributesUpdated { to, .. } => Some(*to),
            _ => None,
        }
    }

    /// A copy of this member event addressed to `addressee` (an output without [`To`] is
    /// copied unchanged).
    #[must_use]
    pub fn addressed(&self, addressee: To) -> Output {
        let mut copy = self.clone();
        match &mut copy {
            Output::MembersJoined { to, .. }
            | Output::MembersLeft { to, .. }
            | Output::RoomAttributesUpdated { to, .. }
            | Output::RoomMessage { to, .. }
            | Output::RoomMemberAttributesUpdated { to, .. } => *to = addressee,
            _ => {}
        }
        copy
    }

    /// The room this output is about, if any.
    #[must_use]
    pub fn room_id(&self) -> Option<RoomId> {
        match self {
            Output::RoomStateChanged { room_id, .. }
            | Output::MembersJoined { room_id, .. }
            | Output::MembersLeft { room_id, .. }
            | Output::RoomCreated { room_id, .. }
            | Output::RoomDestroyed { room_id, .. }
            | Output::MemberJoined { room_id, .. }
            | Output::MemberLeft { room_id, .. }
            | Output::RoomAttributesUpdated { room_id, .. }
            | Output::RoomMessage { room_id, .. }
            | Output::RoomMembersChanged { room_id, .. }
            | Output::RoomMemberAttributesUpdated { room_id, .. } => Some(*room_id),
            Output::Reply { .. } | Output::AdminReply { .. } | Output::SessionClosed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_names_its_kind_and_recipient() {
        let cases = [
            (
                r#"{"type":"members_joined","session":"s2","room_id":"r1","members":[{"user_id":"alice"}]}"#,
                Recipient::Session(SessionId::new("s2")),
                true,
            ),
            (
                r#"{"type":"room_members_changed","room_id":"r1","joined":[],"left":[]}"#,
                Recipient::Room(RoomId::new("r1")),
                true,
            ),
            (
                r#"{"type":"room_destroyed","room_id":"r1","cause":"empty"}"#,
                Recipient::Service,
                false,
            ),
            (
                r#"{"type":"admin_reply","request":8,"ok":{"room_id":"r1"}}"#,
                Recipient::Service,
                false,
            ),
        ];
        for (line, recipient, member_event) in cases {
            let output: Output = serde_json::from_str(line).expect("a valid output line");
            let tag: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            assert_eq!(Some(output.name()), tag["type"].as_str());
            assert_eq!(output.recipient(), recipient, "{line}");
            assert_eq!(output.kind().is_member_event(), member_event, "{line}");
        }
    }
}
