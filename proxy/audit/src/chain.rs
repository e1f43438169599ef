//! The hash chain: each record carries the hash of the one before it in its partition, so a
//! record edited, removed, inserted or moved breaks the chain at that point.
//!
//! `hash = hex(SHA-256("legate-audit-v1\n" || partition || "\n" || seq || "\n" || prev_hash ||
//! "\n" || JSON(record)))`. The JSON is serde_json's rendering of [`AuditRecord`], whose fields
//! have a fixed order, so the same record always hashes the same.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AuditRecord;

/// The `prev_hash` of the first record of a partition.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A record in its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedRecord {
    /// The chain the record belongs to (one per writer, e.g. per replica), so writers never
    /// contend for one chain head.
    pub partition: String,
    /// Position in the partition, from 1, without gaps.
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub record: AuditRecord,
}

impl ChainedRecord {
    /// The hash this record should carry, recomputed from its contents.
    pub fn expected_hash(&self) -> String {
        hash_of(&self.partition, self.seq, &self.prev_hash, &self.record)
    }
}

fn hash_of(partition: &str, seq: i64, prev_hash: &str, record: &AuditRecord) -> String {
    let mut digest = Sha256::new();
    digest.update(b"legate-audit-v1\n");
    digest.update(partition.as_bytes());
    digest.update(b"\n");
    digest.update(seq.to_string().as_bytes());
    digest.update(b"\n");
    digest.update(prev_hash.as_bytes());
    digest.update(b"\n");
    // Serialising plain strings and numbers cannot fail.
    digest.update(serde_json::to_vec(record).unwrap_or_default());
    let bytes = digest.finalize();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The head of one partition's chain: links new records onto it.
#[derive(Debug, Clone)]
pub struct Chain {
    partition: String,
    last_seq: i64,
    last_hash: String,
}

impl Chain {
    /// A chain continuing after `last` (the partition's last stored `(seq, hash)`), or a new
    /// one.
    pub fn resume(partition: impl Into<String>, last: Option<(i64, String)>) -> Chain {
        let (last_seq, last_hash) = last.unwrap_or((0, GENESIS_HASH.to_string()));
        Chain {
            partition: partition.into(),
            last_seq,
            last_hash,
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// `record` as the next link.
    pub fn link(&mut self, record: AuditRecord) -> ChainedRecord {
        let seq = self.last_seq + 1;
        let hash = hash_of(&self.partition, seq, &self.last_hash, &record);
        let chained = ChainedRecord {
            partition: self.partition.clone(),
            seq,
            prev_hash: std::mem::replace(&mut self.last_hash, hash.clone()),
            hash,
            record,
        };
        self.last_seq = seq;
        chained
    }
}

/// Where a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partition {partition}, record {seq}: {reason}")]
pub struct VerifyError {
    pub partition: String,
    pub seq: i64,
    pub reason: String,
}

/// Checks the records of one partition, in `seq` order as stored: every hash matches its
/// contents, links to the one before, and no position is missing or repeated. Returns how
/// many records were checked.
pub fn verify<'a>(
    partition: &str,
    records: impl IntoIterator<Item = &'a ChainedRecord>,
) -> Result<usize, VerifyError> {
    verify_from(partition, 0, GENESIS_HASH, records)
}

/// [`verify`] for a chain whose head was removed on purpose (retention): `records` must
/// continue right after record `after_seq`, whose hash was `after_hash`. `verify` is this
/// with `(0, GENESIS_HASH)`.
pub fn verify_from<'a>(
    partition: &str,
    after_seq: i64,
    after_hash: &str,
    records: impl IntoIterator<Item = &'a ChainedRecord>,
) -> Result<usize, VerifyError> {
    let mut expected_prev = after_hash.to_string();
    let mut expected_seq = after_seq.saturating_add(1);
    let mut count = 0;
    let fail = |seq: i64, reason: String| VerifyError {
        partition: partition.to_string(),
        seq,
        reason,
    };
    for record in records {
        if record.partition != partition {
            return Err(fail(
                record.seq,
                format!("belongs to partition {}", record.partition),
            ));
        }
        if record.seq != expected_seq {
            return Err(fail(
                record.seq,
                format!("expected record {expected_seq} here (removed, inserted or reordered)"),
            ));
        }
        if record.prev_hash != expected_prev {
            return Err(fail(
                record.seq,
                "does not link to the record before it".into(),
            ));
        }
        if record.hash != record.expected_hash() {
            return Err(fail(
                record.seq,
                "contents do not match its hash (edited)".into(),
            ));
        }
        expected_prev = record.hash.clone();
        expected_seq = record.seq.saturating_add(1);
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::record::sample as record;

    fn chain_of(n: i64) -> Vec<ChainedRecord> {
        let mut chain = Chain::resume("p", None);
        (1..=n).map(|i| chain.link(record(i))).collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_resumes_where_it_stopped() {
        let mut records = chain_of(3);
        let last = records.last().map(|r| (r.seq, r.hash.clone()));
        let mut resumed = Chain::resume("p", last);
        records.push(resumed.link(record(4)));
        assert_eq!(verify("p", &records), Ok(4));
    }

    #[test]
    fn edits_removals_and_reordering_are_found_where_they_are() {
        let mut edited = chain_of(4);
        edited[2].record.status = 403;
        assert_eq!(verify("p", &edited).unwrap_err().seq, 3);

        let mut removed = chain_of(4);
        removed.remove(1);
        assert_eq!(verify("p", &removed).unwrap_err().seq, 3);

        let mut reordered = chain_of(4);
        reordered.swap(1, 2);
        assert_eq!(verify("p", &reordered).unwrap_err().seq, 3);

        // Rewriting a record and its own hash still breaks the link to the next one.
        let mut rehashed = chain_of(4);
        rehashed[1].record.remote = Some("mallory@partner.example".into());
        rehashed[1].hash = rehashed[1].expected_hash();
        assert_eq!(verify("p", &rehashed).unwrap_err().seq, 3);

        let mut truncated_head = chain_of(3);
        truncated_head.remove(0);
        assert_eq!(verify("p", &truncated_head).unwrap_err().seq, 2);
    }

    #[test]
    fn a_chain_whose_head_was_pruned_verifies_from_the_last_removed_record() {
        let records = chain_of(5);
        let kept = &records[2..];
        let (seq, hash) = (records[1].seq, records[1].hash.as_str());
        assert_eq!(verify_from("p", seq, hash, kept), Ok(3));
        // Without the starting point the kept part looks truncated.
        assert_eq!(verify("p", kept).unwrap_err().seq, 3);
        // Removing the first kept record as well is still found.
        assert_eq!(
            verify_from("p", seq, hash, &records[3..]).unwrap_err().seq,
            4
        );
    }
}
