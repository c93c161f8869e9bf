//! Human-readable views of a played trace: a per-step text table, or a mermaid sequence
//! diagram with the sessions and the server as participants. Either can show outputs in a
//! vendor's vocabulary instead of the canonical one.

use crate::config::RoomConfig;
use crate::dialect::{self, Dialect, VendorEvent};
use crate::ids::SessionId;
use crate::input::Input;
use crate::output::{Member, Outcome, Output, Recipient, ReplyOk, Stamped};
use crate::trace::{Record, Step};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table: one row per input, then one per output.
    Text,
    /// A mermaid `sequenceDiagram`.
    Mermaid,
}

fn names(members: &[Member]) -> String {
    let v: Vec<String> = members.iter().map(|m| m.user_id.to_string()).collect();
    format!("[{}]", v.join(", "))
}

fn room_config(config: Option<&RoomConfig>) -> String {
    let Some(c) = config else {
        return String::new();
    };
    let mut s = format!(" destroy_delay_s={}", c.destroy_delay_s);
    if !c.attributes.is_empty() {
        let kv: Vec<String> = c
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let _ = write!(s, " attributes={{{}}}", kv.join(", "));
    }
    s
}

/// A short description of an input, without its session.
#[must_use]
pub fn describe_input(input: &Input) -> String {
    let name = input.name();
    match input {
        Input::Login { request, user, .. } => format!("{name} {user} #{request}"),
        Input::CreateRoom {
            request,
            room,
            config,
            ..
        }
        | Input::EnterRoom {
            request,
            room,
            config,
            ..
        } => {
            let config = room_config(config.as_ref());
            format!("{name} {} {:?}{config} #{request}", room.id, room.name)
        }
        Input::SwitchRoom {
            request,
            from,
            to,
            create_if_missing,
            config,
            ..
        } => {
            let create = if *create_if_missing {
                " create_if_missing"
            } else {
                ""
            };
            let config = room_config(config.as_ref());
            format!("{name} {from} -> {}{create}{config} #{request}", to.id)
        }
        _ => describe_room_input(input),
    }
}

fn describe_room_input(input: &Input) -> String {
    let name = input.name();
    match input {
        Input::JoinRoom {
            request, room_id, ..
        }
        | Input::LeaveRoom {
            request, room_id, ..
        }
        | Input::DismissRoom { request, room_id }
        | Input::QueryRoom { request, room_id }
        | Input::QueryRoomAttributes {
            request, room_id, ..
        }
        | Input::QueryRoomOnlineCount {
            request, room_id, ..
        } => format!("{name} {room_id} #{request}"),
        Input::QueryMembers {
            request,
            room_id,
            next,
            count,
            ..
        } => format!("{name} {room_id} next={next:?} count={count} #{request}"),
        Input::RemoveUsers {
            request,
            room_id,
            users,
        }
        | Input::UnbanUsers {
            request,
            room_id,
            users,
        } => {
            let u: Vec<String> = users.iter().map(ToString::to_string).collect();
            format!("{name} {room_id} [{}] #{request}", u.join(", "))
        }
        Input::BanUsers {
            request,
            room_id,
            users,
            duration_s,
        } => {
            let u: Vec<String> = users.iter().map(ToString::to_string).collect();
            format!(
                "{name} {room_id} [{}] for {duration_s} s #{request}",
                u.join(", ")
            )
        }
        Input::MoveUsers {
            request,
            from,
            to,
            users,
            ..
        } => {
            let u: Vec<String> = users.iter().map(ToString::to_string).collect();
            format!("{name} [{}] {from} -> {} #{request}", u.join(", "), to.id)
        }
        _ => describe_data_input(input),
    }
}

fn describe_data_input(input: &Input) -> String {
    let name = input.name();
    match input {
        Input::SetRoomAttributes {
            request,
            room_id,
            attributes,
            ..
        } => {
            let kv: Vec<String> = attributes
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            format!("{name} {room_id} {{{}}} #{request}", kv.join(", "))
        }
        Input::DeleteRoomAttributes {
            request,
            room_id,
            keys,
            ..
        } => format!("{name} {room_id} [{}] #{request}", keys.join(", ")),
        Input::SendRoomMessage {
            request,
            room_id,
            payload,
            ..
        } => format!("{name} {room_id} {payload:?} #{request}"),
        Input::Logout { request, .. } | Input::LeaveAllRooms { request, .. } => {
            format!("{name} #{request}")
        }
        _ => name.to_owned(),
    }
}

fn describe_ok(ok: &ReplyOk) -> String {
    match ok {
        ReplyOk::LoggedIn { user_id } => format!("ok user_id={user_id}"),
        ReplyOk::Room {
            room,
            sid,
            member_count,
            ..
        } => {
            let sid = sid.map_or_else(String::new, |s| format!(" sid={s}"));
            let count = member_count.map_or_else(String::new, |n| format!(" member_count={n}"));
            format!("ok room={} {:?}{sid}{count}", room.id, room.name)
        }
        ReplyOk::LeftAll { room_ids } => {
            let r: Vec<String> = room_ids.iter().map(ToString::to_string).collect();
            format!("ok room_ids=[{}]", r.join(", "))
        }
        ReplyOk::Members { members, next } => {
            let m: Vec<String> = members.iter().map(|m| m.user_id.to_string()).collect();
            format!("ok members=[{}] next={next:?}", m.join(", "))
        }
        ReplyOk::MessageSent { seq } => format!("ok seq={seq}"),
        ReplyOk::UsersRemoved { removed, skipped } => {
            let r: Vec<String> = removed.iter().map(ToString::to_string).collect();
            let s: Vec<String> = skipped.iter().map(ToString::to_string).collect();
            format!("ok removed=[{}] skipped=[{}]", r.join(", "), s.join(", "))
        }
        ReplyOk::RoomId { room_id } => format!("ok room_id={room_id}"),
        ReplyOk::Empty {} => "ok".to_owned(),
        other => format!("ok {}", compact(other)),
    }
}

fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(ok) => describe_ok(ok),
        Outcome::Error(e) => format!("error {} ({})", e.code.as_str(), e.message),
    }
}

/// A short description of an output, without its recipient.
#[must_use]
pub fn describe_output(out: &Output) -> String {
    match out {
        Output::Reply {
            request, outcome, ..
        } => format!("reply #{request} {}", describe_outcome(outcome)),
        Output::AdminReply { request, outcome } => {
            format!("admin_reply #{request} {}", describe_outcome(outcome))
        }
        Output::RoomStateChanged {
            room_id,
            state,
            event,
            ..
        } => format!("{room_id} {}/{}", snake(state), snake(event)),
        Output::MembersJoined {
            room_id, members, ..
        } => format!("{room_id} members_joined {}", names(members)),
        Output::MembersLeft {
            room_id,
            members,
            reason,
            ..
        } => format!(
            "{room_id} members_left {} ({})",
            names(members),
            snake(reason)
        ),
        _ => describe_other_output(out),
    }
}

fn describe_other_output(out: &Output) -> String {
    match out {
        Output::RoomCreated { room_id, sid, .. } => {
            format!("room_created {room_id}{}", sid_text(*sid))
        }
        Output::RoomDestroyed {
            room_id,
            sid,
            cause,
            ..
        } => {
            format!(
                "room_destroyed {room_id}{} ({})",
                sid_text(*sid),
                snake(cause)
            )
        }
        Output::MemberJoined {
            room_id,
            user_id,
            session_id,
            event_id,
            ..
        } => format!("service #{event_id}: {user_id} ({session_id}) joined {room_id}"),
        Output::MemberLeft {
            room_id,
            user_id,
            session_id,
            reason,
            event_id,
            ..
        } => format!(
            "service #{event_id}: {user_id} ({session_id}) left {room_id} ({})",
            snake(reason)
        ),
        Output::SessionClosed { reason, .. } => format!("session_closed ({})", snake(reason)),
        Output::RoomAttributesUpdated {
            room_id,
            set,
            deleted,
            ..
        } => {
            let kv: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!(
                "{room_id} attributes set {{{}}} deleted [{}]",
                kv.join(", "),
                deleted.join(", ")
            )
        }
        Output::RoomMessage {
            room_id,
            from,
            seq,
            payload,
            ..
        } => format!("{room_id} message #{seq} from {from}: {payload:?}"),
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => {
            let left: Vec<String> = left
                .iter()
                .map(|m| format!("{} ({})", m.user_id, snake(&m.reason)))
                .collect();
            format!(
                "{room_id} room_members_changed joined {} left [{}]",
                names(joined),
                left.join(", ")
            )
        }
        other => compact(other),
    }
}

/// Compact JSON, for values without a hand-written description.
fn compact<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The wire name of a unit enum value (its serde string).
fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A vendor callback without the session argument (the recipient column shows it).
fn vendor_text(e: &VendorEvent) -> String {
    let args: Vec<String> = e
        .args
        .iter()
        .filter(|(k, _)| *k != "session")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{}({})", e.callback, args.join(", "))
}

/// Writes played steps in one of the [`Format`]s.
#[derive(Debug)]
pub struct Renderer<W> {
    w: W,
    format: Format,
    dialect: Option<Dialect>,
    /// Mermaid participant aliases, in order of appearance.
    participants: BTreeMap<SessionId, usize>,
    started: bool,
}

impl<W: Write> Renderer<W> {
    /// A renderer writing to `w`.
    pub fn new(w: W, format: Format, dialect: Option<Dialect>) -> Renderer<W> {
        Renderer {
            w,
            format,
            dialect,
            participants: BTreeMap::new(),
            started: false,
        }
    }

    /// Writes one step.
    ///
    /// # Errors
    /// When writing fails.
    pub fn step(&mut self, step: &Step<'_>) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.header()?;
        }
        match self.format {
            Format::Text => self.text_step(step),
            Format::Mermaid => self.mermaid_step(step),
        }
    }

    /// Finishes the document and returns the writer.
    ///
    /// # Errors
    /// When writing fails.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.started {
            self.header()?;
        }
        self.w.flush()?;
        Ok(self.w)
    }

    fn header(&mut self) -> io::Result<()> {
        match self.format {
            Format::Text => writeln!(self.w, "{:>5} {:>8}  {:<10} what", "line", "at", "who"),
            Format::Mermaid => writeln!(self.w, "sequenceDiagram\n    participant server"),
        }
    }

    /// What to show for an output: the canonical description, or the vendor callbacks.
    fn output_text(&self, s: &Stamped, cause: Option<&Input>) -> String {
        let canonical = describe_output(&s.output);
        let Some(d) = self.dialect else {
            return canonical;
        };
        let views = dialect::view(d, &s.output, cause);
        if views.is_empty() {
            return format!("({d}: none) {canonical}");
        }
        let v: Vec<String> = views.iter().map(vendor_text).collect();
        v.join("; ")
    }

    fn text_step(&mut self, step: &Step<'_>) -> io::Result<()> {
        let line = step.line;
        match &step.record {
            Record::Note(n) => writeln!(self.w, "{line:>5}  # {}", terminal_text(n)),
            Record::Config(_) => {
                let config = terminal_text(step.text.trim());
                writeln!(self.w, "{line:>5}  config {config}")
            }
            Record::Output(_) => Ok(()),
            Record::Input { at, input } => {
                // Due timers fire before the input: show their outputs first.
                self.text_outputs(step, 0..step.fired)?;
                let who = input
                    .session()
                    .map_or_else(|| admin_or_time(input), |s| s.to_string());
                let at = at.as_ms();
                let (who, what) = (terminal_text(&who), terminal_text(&describe_input(input)));
                writeln!(self.w, "{line:>5} {at:>8}  {who:<10} > {what}")?;
                self.text_outputs(step, step.fired..step.outputs.len())
            }
        }
    }

    fn text_outputs(&mut self, step: &Step<'_>, range: std::ops::Range<usize>) -> io::Result<()> {
        for (i, s) in step
            .outputs
            .iter()
            .enumerate()
            .take(range.end)
            .skip(range.start)
        {
            let timer = i < step.fired;
            let cause = if timer { None } else { step.input() };
            let who = match s.output.recipient() {
                Recipient::Room(room_id) => format!("room:{room_id}"),
                Recipient::Session(x) => x.to_string(),
                Recipient::Service => "server".to_owned(),
            };
            let mark = if timer { "  [timer]" } else { "" };
            let (who, text) = (
                terminal_text(&who),
                terminal_text(&self.output_text(s, cause)),
            );
            let at = s.at.as_ms();
            writeln!(self.w, "{:>5} {at:>8}  {who:<10} < {text}{mark}", "")?;
        }
        Ok(())
    }

    fn participant(&mut self, s: SessionId) -> io::Result<String> {
        if let Some(n) = self.participants.get(&s) {
            return Ok(format!("p{n}"));
        }
        let n = self.participants.len() + 1;
        self.participants.insert(s, n);
        writeln!(
            self.w,
            "    participant p{n} as {}",
            mermaid_text(s.as_str())
        )?;
        Ok(format!("p{n}"))
    }

    fn mermaid_step(&mut self, step: &Step<'_>) -> io::Result<()> {
        match &step.record {
            Record::Note(n) => writeln!(self.w, "    Note over server: {}", mermaid_text(n)),
            Record::Config(_) | Record::Output(_) => Ok(()),
            Record::Input { at, input } => {
                // Due timers fire before the input: show their outputs first.
                self.mermaid_outputs(step, 0..step.fired)?;
                let text = mermaid_text(&format!("[{}] {}", at.as_ms(), describe_input(input)));
                match input.session() {
                    Some(s) => {
                        let p = self.participant(s)?;
                        writeln!(self.w, "    {p}->>server: {text}")?;
                    }
                    None => writeln!(
                        self.w,
                        "    Note over server: {} {text}",
                        admin_or_time(input)
                    )?,
                }
                self.mermaid_outputs(step, step.fired..step.outputs.len())
            }
        }
    }

    fn mermaid_outputs(
        &mut self,
        step: &Step<'_>,
        range: std::ops::Range<usize>,
    ) -> io::Result<()> {
        for (i, s) in step
            .outputs
            .iter()
            .enumerate()
            .take(range.end)
            .skip(range.start)
        {
            let timer = i < step.fired;
            let cause = if timer { None } else { step.input() };
            let mark = if timer {
                format!("timer at {}: ", s.at.as_ms())
            } else {
                String::new()
            };
            let text = mermaid_text(&format!("{mark}{}", self.output_text(s, cause)));
            match s.output.session() {
                Some(x) => {
                    let p = self.participant(x)?;
                    writeln!(self.w, "    server-->>{p}: {text}")?;
                }
                None => writeln!(self.w, "    Note over server: {text}")?,
            }
        }
        Ok(())
    }
}

/// Who sends an input that has no session: the admin API, or time itself.
fn admin_or_time(input: &Input) -> String {
    match input {
        Input::Tick => "time".to_owned(),
        _ => "admin".to_owned(),
    }
}

/// Text safe inside a mermaid message: entity codes for the characters mermaid treats
/// specially, spaces for control characters.
#[must_use]
pub fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '%' => out.push_str("#37;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn sid_text(sid: Option<crate::ids::RoomSid>) -> String {
    sid.map_or_else(String::new, |s| format!(" {s}"))
}

/// Text safe on a terminal: control characters (escape sequences, carriage returns) from
/// ids, names or payloads of a trace are shown as `\u{..}` escapes instead of being
/// written raw.
#[must_use]
pub fn terminal_text(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .fold(String::with_capacity(s.len()), |mut out, c| {
            if c.is_control() {
                let _ = write!(out, "{}", c.escape_unicode());
            } else {
                out.push(c);
            }
            out
        })
}

#[cfg(test)]
mod terminal_tests {
    use super::terminal_text;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(terminal_text("room-1 é"), "room-1 é");
        assert_eq!(terminal_text("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\u{d}");
        assert_eq!(terminal_text("\u{9b}x"), "\\u{9b}x");
    }

    #[test]
    fn a_rendered_text_table_carries_no_raw_escape_sequence() {
        let trace = concat!(
            r#"{"note":"clear \u001b[2J"}"#,
            "\n",
            r#"{"at":0,"in":{"type":"login","session":"s\u001b[31m","request":1,"user":"u\u001b]0;x\u0007"}}"#,
            "\n",
        );
        let mut player = crate::trace::Player::new(trace.as_bytes());
        let mut r = super::Renderer::new(Vec::new(), super::Format::Text, None);
        while let Some(step) = player.next_step().expect("a valid trace") {
            r.step(&step).expect("writing to a Vec");
        }
        let text = String::from_utf8(r.finish().expect("writing to a Vec")).expect("utf-8");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("s\\u{1b}[31m"), "{text}");
    }
}
