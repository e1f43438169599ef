//! The end record of a dialog: kept by the proxy's dialog table for the dialog's life and
//! written when the dialog ends, from either side or by expiry.

use legate_audit::{AuditLog, AuditRecord, EventKind};

use super::record::now_micros;
use legate_filters_api::{DialogEnd, DialogHold};

pub(crate) struct EndRecord {
    log: AuditLog,
    /// The start record, turned into the end record.
    template: AuditRecord,
}

impl EndRecord {
    /// The end to come of the dialog `start` recorded.
    pub fn after(log: AuditLog, start: &AuditRecord) -> EndRecord {
        let mut template = start.clone();
        template.event = match start.event {
            EventKind::SubscriptionStart => EventKind::SubscriptionEnd,
            _ => EventKind::DialogEnd,
        };
        template.body = None;
        EndRecord { log, template }
    }

    /// The record for a dialog that ended `how`: the request that ended it and its status, or
    /// status 0 when nothing did (expiry).
    pub fn record(&self, how: &DialogEnd) -> AuditRecord {
        let mut record = self.template.clone();
        record.at_micros = now_micros();
        match how {
            DialogEnd::Request { method, status } => {
                record.method = method.clone();
                record.status = *status;
            }
            DialogEnd::Expired | DialogEnd::NotKept => record.status = 0,
        }
        record
    }
}

impl DialogHold for EndRecord {
    fn ended(&self, how: &DialogEnd) {
        // The dialog is over whatever the sinks say: nothing is left to refuse.
        self.log.record(self.record(how));
    }
}
