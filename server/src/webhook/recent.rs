//! The service events as they leave the engine: handed to the webhook (when one is set) and
//! kept, the last [`RECENT_EVENTS`] of them, for `GET /admin/events` and the live page.

use crate::webhook::{service_event, Webhook};
use roomcore::Stamped;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// Service events kept for `GET /admin/events`.
pub const RECENT_EVENTS: usize = 100;

/// Where the engine's service events go. Clones share the webhook and the recent events.
#[derive(Debug, Clone, Default)]
pub struct ServiceEvents {
    webhook: Option<Webhook>,
    recent: Arc<Mutex<VecDeque<String>>>,
}

impl ServiceEvents {
    /// Service events to `webhook`, if any, and to the recent list.
    #[must_use]
    pub fn new(webhook: Option<Webhook>) -> ServiceEvents {
        ServiceEvents {
            webhook,
            recent: Arc::default(),
        }
    }

    /// Takes `stamped` if it is a numbered service event; never waits.
    pub fn offer(&self, stamped: &Stamped) {
        let Some((event_id, json)) = service_event(stamped) else {
            return;
        };
        {
            // Nothing in this section panics; a poisoned lock still holds a valid list.
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent.len() >= RECENT_EVENTS {
                recent.pop_front();
            }
            recent.push_back(json.clone());
        }
        if let Some(w) = &self.webhook {
            w.push(event_id, json);
        }
    }

    /// The last service events, oldest first, as JSON objects.
    #[must_use]
    pub fn recent(&self) -> Vec<String> {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent.iter().cloned().collect()
    }

    /// The webhook, when one is set.
    #[must_use]
    pub fn webhook(&self) -> Option<&Webhook> {
        self.webhook.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_events_are_kept_in_order_and_bounded() {
        let events = ServiceEvents::new(None);
        for id in 1..=(RECENT_EVENTS as u64 + 5) {
            let line = format!(
                r#"{{"at":1,"out":{{"type":"room_created","room_id":"r{id}","sid":"R{id}","event_id":{id}}}}}"#
            );
            events.offer(&serde_json::from_str(&line).expect("an output line"));
        }
        let unnumbered = r#"{"at":1,"out":{"type":"room_created","room_id":"x","sid":"R9"}}"#;
        events.offer(&serde_json::from_str(unnumbered).expect("an output line"));
        let recent = events.recent();
        assert_eq!(recent.len(), RECENT_EVENTS);
        assert!(recent[0].contains(r#""event_id":6"#), "{}", recent[0]);
        assert!(recent[RECENT_EVENTS - 1].contains(r#""event_id":105"#));
    }
}
