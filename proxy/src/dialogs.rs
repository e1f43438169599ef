//! The dialogs this replica has seen, each pinned to the config snapshot it started under.
//!
//! A dialog starts on a 2xx to INVITE or SUBSCRIBE and ends with BYE, with a NOTIFY carrying
//! `Subscription-State: terminated`, with an unsubscribe, when the far side answers 481 (it has
//! no such dialog), or when it expires (the subscription's Expires, or the idle timeout for
//! calls). Losing this table (a restart) loses nothing needed for routing: that
//! travels in the signed Record-Route state; what is lost is the pin to the old snapshot.
//!
//! An entry also keeps the [`DialogHolds`] filters attached to the 2xx (the partner's slot from
//! `peer_limits`, what `audit` needs for the end record) for the dialog's life: however the
//! entry goes, each hold is told how the dialog ended and then dropped.

use std::collections::{hash_map, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use legate_filters_api::{DialogEnd, DialogHolds, RequestView};
use legate_sip::{HeaderKind, Message};
use prometheus::IntGauge;
use tokio::time::Instant;

use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    Invite,
    Subscribe,
}

/// Call-ID and the two tags, in a fixed order so both directions find the same dialog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId(String);

impl DialogId {
    pub fn of(message: &Message) -> Option<DialogId> {
        let from = message.from_header().ok()?;
        let to = message.to_header().ok()?;
        DialogId::of_tags(message.call_id()?, from.tag()?, to.tag()?)
    }

    /// The dialog of a request whose addressing is already read; `None` without a To tag.
    pub fn of_view(call_id: Option<&Bytes>, view: &RequestView) -> Option<DialogId> {
        DialogId::of_tags(call_id?, view.from_tag()?, view.to_tag()?)
    }

    fn of_tags(call_id: &[u8], from: &str, to: &str) -> Option<DialogId> {
        let call_id = String::from_utf8_lossy(call_id);
        let (a, b) = if from <= to { (from, to) } else { (to, from) };
        Some(DialogId(format!("{call_id};{a};{b}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct Entry {
    kind: DialogKind,
    snapshot: Arc<Snapshot>,
    expires: Instant,
    /// Told how the dialog ended, then dropped, when the entry goes.
    holds: DialogHolds,
}

pub struct Dialogs {
    entries: Mutex<HashMap<DialogId, Entry>>,
    active: IntGauge,
    idle_timeout: Duration,
}

impl Dialogs {
    pub fn new(active: IntGauge, idle_timeout: Duration) -> Dialogs {
        Dialogs {
            entries: Mutex::new(HashMap::new()),
            active,
            idle_timeout,
        }
    }

    fn lifetime(&self, kind: DialogKind, message: &Message) -> Duration {
        match kind {
            DialogKind::Invite => self.idle_timeout,
            DialogKind::Subscribe => expires_of(message).unwrap_or(self.idle_timeout),
        }
    }

    /// Records a dialog established by `response` (a 2xx to a dialog-creating request), keeping
    /// `holds` for its life. A dialog that cannot be recorded (no To tag) ends its holds at once.
    pub fn established(
        &self,
        kind: DialogKind,
        response: &Message,
        snapshot: Arc<Snapshot>,
        holds: DialogHolds,
    ) {
        let Some(id) = DialogId::of(response) else {
            holds.end(&DialogEnd::NotKept);
            return;
        };
        let expires = Instant::now() + self.lifetime(kind, response);
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        match entries.entry(id) {
            hash_map::Entry::Occupied(mut known) => {
                // Already recorded (a 2xx to a repeated request): the dialog keeps what it
                // holds, and the second set is dropped untold (it is the same dialog, which
                // has not ended).
                let entry = known.get_mut();
                entry.kind = kind;
                entry.snapshot = snapshot;
                entry.expires = expires;
            }
            hash_map::Entry::Vacant(new) => {
                new.insert(Entry {
                    kind,
                    snapshot,
                    expires,
                    holds,
                });
                self.active.inc();
            }
        }
    }

    /// The snapshot a known dialog runs on; refreshes its expiry (re-SUBSCRIBE, re-INVITE).
    pub fn lookup(&self, id: &DialogId, request: &Message) -> Option<Arc<Snapshot>> {
        let Ok(mut entries) = self.entries.lock() else {
            return None;
        };
        let entry = entries.get_mut(id)?;
        if entry.kind == DialogKind::Invite {
            entry.expires = Instant::now() + self.idle_timeout;
        } else if let Some(expires) = expires_of(request) {
            entry.expires = Instant::now() + expires;
        }
        Some(entry.snapshot.clone())
    }

    /// Ends the dialog `id`, `how` it ended.
    pub fn end(&self, id: &DialogId, how: &DialogEnd) {
        let removed = {
            let Ok(mut entries) = self.entries.lock() else {
                return;
            };
            entries.remove(id)
        };
        if let Some(entry) = removed {
            self.active.dec();
            // Outside the lock: holds may do work (audit writes a record).
            entry.holds.end(how);
        }
    }

    /// Ends expired dialogs; called periodically.
    pub fn sweep(&self) {
        let now = Instant::now();
        let expired: Vec<Entry> = {
            let Ok(mut entries) = self.entries.lock() else {
                return;
            };
            let ids: Vec<DialogId> = entries
                .iter()
                .filter(|(_, entry)| entry.expires <= now)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| entries.remove(id)).collect()
        };
        self.active.sub(expired.len() as i64);
        for entry in expired {
            entry.holds.end(&DialogEnd::Expired);
        }
    }
}

/// Whether answering `request` with `status` ends its dialog: a 2xx to a request meant to end
/// it ([`ends_dialog`]), or a 408 to one (its sender considers the dialog over, RFC 3261
/// §15.1.1); and a 481 to any request, the far side having no such dialog (RFC 5057).
pub fn ended_by(request: &Message, status: u16) -> bool {
    match status {
        200..=299 | 408 => ends_dialog(request),
        481 => true,
        _ => false,
    }
}

/// Whether `request` ends its dialog once answered with a 2xx.
pub fn ends_dialog(request: &Message) -> bool {
    match request.method() {
        Some(legate_sip::Method::Bye) => true,
        Some(legate_sip::Method::Notify) => request
            .headers
            .first(HeaderKind::SubscriptionState)
            .is_some_and(|v| v.len() >= 10 && v[..10].eq_ignore_ascii_case(b"terminated")),
        Some(legate_sip::Method::Subscribe) => expires_of(request) == Some(Duration::ZERO),
        _ => false,
    }
}

fn expires_of(message: &Message) -> Option<Duration> {
    let value = message.headers.first(HeaderKind::Expires)?;
    let seconds: u64 = std::str::from_utf8(value).ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {

    use bytes::Bytes;
    use legate_sip::{parse_message, Limits};

    use super::*;

    fn snapshot() -> Arc<Snapshot> {
        // The quickstart's chains, without the audit filter (these tests run no audit log).
        let text = crate::cli::QUICKSTART.replace("      - name: legate.filters.sip.audit\n", "");
        let loaded = legate_api::load_str(&text, "quickstart").unwrap();
        Arc::new(Snapshot::build(loaded, 7, None, None).unwrap())
    }

    fn message(start: &str, extra: &str) -> Message {
        let text = format!(
            "{start}\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@local.example>;tag=a\r\n\
             To: <sip:b@remote.example>;tag=b\r\nCall-ID: d1\r\nCSeq: 1 SUBSCRIBE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        parse_message(Bytes::from(text), &Limits::default()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn subscriptions_expire_and_calls_idle_out() {
        let dialogs = Dialogs::new(IntGauge::new("d", "d").unwrap(), Duration::from_secs(3600));
        let ok = message("SIP/2.0 200 OK", "Expires: 60\r\n");
        dialogs.established(
            DialogKind::Subscribe,
            &ok,
            snapshot(),
            DialogHolds::default(),
        );
        let refresh = message("SUBSCRIBE sip:b@remote.example SIP/2.0", "");
        assert_eq!(
            dialogs
                .lookup(&DialogId::of(&refresh).unwrap(), &refresh)
                .map(|s| s.version),
            Some(7),
            "pinned to its snapshot"
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        dialogs.sweep();
        assert!(
            dialogs
                .lookup(&DialogId::of(&refresh).unwrap(), &refresh)
                .is_none(),
            "the subscription should have expired"
        );

        let call = message("SIP/2.0 200 OK", "");
        dialogs.established(
            DialogKind::Invite,
            &call,
            snapshot(),
            DialogHolds::default(),
        );
        tokio::time::advance(Duration::from_secs(3000)).await;
        assert!(
            dialogs
                .lookup(&DialogId::of(&call).unwrap(), &call)
                .is_some(),
            "in-dialog traffic refreshes a call"
        );
        tokio::time::advance(Duration::from_secs(3601)).await;
        dialogs.sweep();
        assert!(
            dialogs
                .lookup(&DialogId::of(&call).unwrap(), &call)
                .is_none(),
            "an idle call should have expired"
        );
    }

    /// A hold that notes how its dialog ended.
    struct Noted(Arc<Mutex<Vec<DialogEnd>>>);

    impl legate_filters_api::DialogHold for Noted {
        fn ended(&self, how: &DialogEnd) {
            self.0.lock().unwrap().push(how.clone());
        }
    }

    fn holding(noted: &Arc<Mutex<Vec<DialogEnd>>>) -> DialogHolds {
        let mut context = legate_filters_api::Context::new();
        DialogHolds::attach(&mut context, Noted(noted.clone()));
        context.remove::<DialogHolds>().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn holds_learn_how_their_dialog_ended_once() {
        let dialogs = Dialogs::new(IntGauge::new("d", "d").unwrap(), Duration::from_secs(60));
        let noted = Arc::new(Mutex::new(Vec::new()));
        let call = message("SIP/2.0 200 OK", "");
        dialogs.established(DialogKind::Invite, &call, snapshot(), holding(&noted));
        // A 2xx to a repeated request: the same dialog, which has not ended.
        dialogs.established(DialogKind::Invite, &call, snapshot(), holding(&noted));
        let bye = message("BYE sip:b@remote.example SIP/2.0", "");
        let how = DialogEnd::Request {
            method: "BYE".into(),
            status: 200,
        };
        let id = DialogId::of(&bye).unwrap();
        dialogs.end(&id, &how);
        dialogs.end(&id, &how);
        assert_eq!(*noted.lock().unwrap(), [how]);

        let expiring = Arc::new(Mutex::new(Vec::new()));
        let subscription = message("SIP/2.0 200 OK", "Expires: 10\r\n");
        dialogs.established(
            DialogKind::Subscribe,
            &subscription,
            snapshot(),
            holding(&expiring),
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        dialogs.sweep();
        assert_eq!(*expiring.lock().unwrap(), [DialogEnd::Expired]);

        let untagged = Arc::new(Mutex::new(Vec::new()));
        let no_tag = parse_message(
            Bytes::from(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\r\n\
                 From: <sip:a@local.example>;tag=a\r\nTo: <sip:b@remote.example>\r\n\
                 Call-ID: d2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
            ),
            &Limits::default(),
        )
        .unwrap();
        dialogs.established(DialogKind::Invite, &no_tag, snapshot(), holding(&untagged));
        assert_eq!(*untagged.lock().unwrap(), [DialogEnd::NotKept]);
    }

    #[test]
    fn bye_terminated_notify_and_unsubscribe_end_dialogs() {
        assert!(ends_dialog(&message(
            "BYE sip:b@remote.example SIP/2.0",
            ""
        )));
        assert!(ends_dialog(&message(
            "NOTIFY sip:b@remote.example SIP/2.0",
            "Subscription-State: terminated;reason=timeout\r\n"
        )));
        assert!(!ends_dialog(&message(
            "NOTIFY sip:b@remote.example SIP/2.0",
            "Subscription-State: active\r\n"
        )));
        assert!(ends_dialog(&message(
            "SUBSCRIBE sip:b@remote.example SIP/2.0",
            "Expires: 0\r\n"
        )));
    }

    #[test]
    fn a_dialog_the_far_side_lost_or_never_answered_ends_too() {
        let bye = message("BYE sip:b@remote.example SIP/2.0", "");
        let refresh = message("SUBSCRIBE sip:b@remote.example SIP/2.0", "Expires: 60\r\n");
        assert!(ended_by(&bye, 200) && ended_by(&bye, 481) && ended_by(&bye, 408));
        assert!(!ended_by(&bye, 401), "a challenged BYE is sent again");
        assert!(
            ended_by(&refresh, 481),
            "no such subscription at the far side"
        );
        assert!(!ended_by(&refresh, 200) && !ended_by(&refresh, 408));
    }
}
