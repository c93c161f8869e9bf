//! `gen-trace N` (hidden): a large deterministic workload for measuring replay.

use crate::fail::Fail;
use crate::tools::stdout;
use roomcore::trace::write_input;
use roomcore::{Config, Engine, Input, Millis, RoomConfig, RoomId, RoomInfo, SessionId, UserId};
use std::io::Write;

/// Sessions and rooms the generated workload cycles through.
const GEN_SESSIONS: u32 = 5_000;
const GEN_ROOMS: u32 = 1_000;

/// A deterministic workload: an engine tracks the state so most commands are meaningful
/// (enter, switch and leave rooms the session is or is not in, messages, attributes, lost
/// links, logouts, ticks).
struct Gen {
    engine: Engine,
    state: u64,
    at: u64,
    request: u64,
    out: Vec<roomcore::Stamped>,
}

impl Gen {
    fn next_u32(&mut self, below: u32) -> u32 {
        // xorshift64*: a fixed seed, so the trace is the same every time.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        u32::try_from(x % u64::from(below.max(1))).unwrap_or(0)
    }

    fn request(&mut self) -> u64 {
        self.request += 1;
        self.request
    }

    fn room(&mut self) -> RoomId {
        let n = self.next_u32(GEN_ROOMS);
        RoomId::new(&format!("room-{n}"))
    }

    fn next_input(&mut self) -> Input {
        self.at += u64::from(self.next_u32(20));
        let k = self.next_u32(GEN_SESSIONS);
        let session = SessionId::new(&format!("s{k}"));
        let request = self.request();
        let Some(rooms) = self.engine.session_rooms(session) else {
            let user = UserId::new(&format!("u{k}"));
            return Input::Login {
                session,
                request,
                user,
            };
        };
        let joined = rooms.first().map(|r| r.0);
        let roll = self.next_u32(100);
        self.pick(session, request, joined, roll)
    }

    fn pick(
        &mut self,
        session: SessionId,
        request: u64,
        joined: Option<RoomId>,
        roll: u32,
    ) -> Input {
        match (roll, joined) {
            (0..=29, _) | (30..=79, None) => {
                let id = self.room();
                let config = roll.is_multiple_of(2).then(|| RoomConfig {
                    destroy_delay_s: 5,
                    ..RoomConfig::default()
                });
                let room = RoomInfo {
                    id,
                    name: roomcore::RoomName::EMPTY,
                };
                Input::EnterRoom {
                    session,
                    request,
                    room,
                    config,
                }
            }
            (30..=44, Some(from)) => {
                let to = RoomInfo {
                    id: self.room(),
                    name: roomcore::RoomName::EMPTY,
                };
                Input::SwitchRoom {
                    session,
                    request,
                    from,
                    to,
                    create_if_missing: true,
                    config: None,
                }
            }
            (45..=54, Some(room_id)) => Input::LeaveRoom {
                session,
                request,
                room_id,
            },
            (55..=74, Some(room_id)) => Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload: format!("hello {request}"),
            },
            (75..=79, Some(room_id)) => Input::QueryMembers {
                session,
                request,
                room_id,
                next: String::new(),
                count: 20,
            },
            _ => Self::rare(session, request, roll),
        }
    }

    fn rare(session: SessionId, request: u64, roll: u32) -> Input {
        match roll {
            80..=84 => Input::LinkLost { session },
            85..=89 => Input::LinkRestored { session },
            90..=91 => Input::Logout { session, request },
            _ => Input::Tick,
        }
    }
}

pub fn gen_trace(n: u64) -> Result<(), Fail> {
    let engine = Engine::new(Config::default()).map_err(|e| Fail::Input(e.to_string()))?;
    let mut g = Gen {
        engine,
        state: 0x9E37_79B9_7F4A_7C15,
        at: 0,
        request: 0,
        out: Vec::new(),
    };
    let mut w = stdout();
    for _ in 0..n {
        let input = g.next_input();
        let at = Millis(g.at);
        g.out.clear();
        g.engine.handle_input(at, &input, &mut g.out);
        write_input(&mut w, at, &input)?;
    }
    w.flush()?;
    Ok(())
}
