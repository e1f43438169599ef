use std::net::IpAddr;
use std::time::Duration;

use legate_api::EdgeConfig;
use prometheus::Registry;

use super::*;

fn sources(yaml: &str) -> Arc<Sources> {
    let config: EdgeConfig = serde_yaml::from_str(yaml).unwrap();
    Sources::new(&config, &Registry::new())
}

/// A request of 400 bytes, as far as the edge looks before parsing.
const REQUEST: [u8; 400] = [b'M'; 400];

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

#[tokio::test(start_paused = true)]
async fn a_source_gets_its_rate_and_burst_then_is_banned_for_a_while() {
    let sources = sources("per_source: { requests_per_second: 10, burst: 5, ban_for: 30s }");
    let read = (0..5)
        .filter(|_| sources.admit_message(ip(1), &REQUEST))
        .count();
    assert_eq!(read, 5, "the burst is read at once");
    assert!(!sources.admit_message(ip(1), &REQUEST), "over the rate");
    // Another source is not affected.
    assert!(sources.admit_message(ip(2), &REQUEST));
    // The bucket refills at the rate.
    tokio::time::advance(Duration::from_millis(100)).await;
    assert!(sources.admit_message(ip(1), &REQUEST));
    // Five more over the rate within the second: banned, even once the bucket would refill.
    for _ in 0..5 {
        assert!(!sources.admit_message(ip(1), &REQUEST));
    }
    assert_eq!(sources.metrics.bans.get(), 1);
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(!sources.admit_message(ip(1), &REQUEST), "still banned");
    assert!(sources.admit_connection(ip(1)).is_err(), "connections too");
    tokio::time::advance(Duration::from_secs(21)).await;
    assert!(sources.admit_message(ip(1), &REQUEST), "the ban expired");
    let dropped = &sources.metrics.messages_dropped;
    assert!(dropped.with_label_values(&["rate"]).get() >= 5);
    assert!(dropped.with_label_values(&["banned"]).get() >= 2);
}

#[tokio::test(start_paused = true)]
async fn transactions_are_capped_per_source_and_in_total_and_given_back() {
    let sources =
        sources("{ per_source: { max_transactions: 2 }, total: { max_transactions: 3 } }");
    let first = sources.begin_transaction(ip(1)).unwrap();
    let _second = sources.begin_transaction(ip(1)).unwrap();
    assert_eq!(
        sources.begin_transaction(ip(1)).err(),
        Some(Refused::PerSource)
    );
    let _third = sources.begin_transaction(ip(2)).unwrap();
    assert_eq!(sources.begin_transaction(ip(3)).err(), Some(Refused::Total));
    assert_eq!(sources.transactions(), 3);
    drop(first);
    assert_eq!(sources.transactions(), 2);
    assert!(sources.begin_transaction(ip(1)).is_ok());
    assert_eq!(
        sources
            .metrics
            .transactions_refused
            .with_label_values(&["per_source"])
            .get(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn connections_are_capped_per_source_and_in_total() {
    let sources = sources("{ per_source: { max_connections: 2 }, total: { max_connections: 3 } }");
    let held: Vec<_> = (0..2)
        .map(|_| sources.admit_connection(ip(1)).unwrap())
        .collect();
    assert_eq!(
        sources.admit_connection(ip(1)).err(),
        Some(Refused::PerSource)
    );
    let _other = sources.admit_connection(ip(2)).unwrap();
    assert_eq!(sources.admit_connection(ip(3)).err(), Some(Refused::Total));
    drop(held);
    let _third = sources.admit_connection(ip(3)).unwrap();
    assert_eq!(sources.metrics.connections_active.get(), 2);
}

#[tokio::test(start_paused = true)]
async fn answers_never_exceed_the_amplification_factor() {
    let sources = sources("per_source: { answer_amplification: 3 }");
    let slack = source::ANSWER_SLACK_BYTES as usize;
    assert!(
        !sources.may_answer(ip(1), slack + 1),
        "a source that sent nothing gets the slack at most"
    );
    assert!(sources.admit_message(ip(1), &REQUEST));
    assert!(sources.may_answer(ip(1), slack));
    assert!(sources.may_answer(ip(1), 500));
    assert!(sources.may_answer(ip(1), 700));
    assert!(!sources.may_answer(ip(1), 1), "1200 bytes is 3 x 400");
    assert_eq!(sources.metrics.answers_dropped.get(), 2);
}

#[tokio::test(start_paused = true)]
async fn quiet_sources_are_forgotten_and_held_ones_kept() {
    let sources = sources("{}");
    assert!(sources.admit_message(ip(1), &REQUEST[..10]));
    let _held = sources.begin_transaction(ip(2)).unwrap();
    assert_eq!(sources.tracked(), 2);
    tokio::time::advance(FORGET_AFTER).await;
    sources.sweep();
    assert_eq!(
        sources.tracked(),
        1,
        "the source holding a transaction stays"
    );
    assert_eq!(sources.metrics.sources_tracked.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn sources_beyond_the_table_share_one_entry() {
    let sources = sources("per_source: { max_transactions: 1 }");
    for n in 0..MAX_TRACKED_SOURCES {
        let address = IpAddr::from((n as u32 + (10 << 24)).to_be_bytes());
        assert!(sources.admit_message(address, &REQUEST[..10]));
    }
    assert_eq!(sources.tracked(), MAX_TRACKED_SOURCES);
    // Two new addresses share the overflow entry and its limits.
    let slot = sources.begin_transaction(ip(1)).unwrap();
    assert_eq!(
        sources.begin_transaction(ip(2)).err(),
        Some(Refused::PerSource)
    );
    assert_eq!(sources.tracked(), MAX_TRACKED_SOURCES + 1);
    drop(slot);
    assert!(sources.begin_transaction(ip(2)).is_ok());
}

#[tokio::test(start_paused = true)]
async fn responses_pass_unless_banned_and_stray_ones_are_charged() {
    let sources = sources("per_source: { requests_per_second: 1, burst: 2, ban_for: 30s }");
    let response = b"SIP/2.0 200 OK\r\n";
    for _ in 0..10 {
        assert!(
            sources.admit_message(ip(1), response),
            "answers to Legate are not limited"
        );
    }
    // Responses that matched nothing cost a token each: two spend the bucket, two more ban.
    for _ in 0..4 {
        sources.charge_stray(ip(1), response.len());
    }
    assert_eq!(sources.metrics.bans.get(), 1);
    assert!(
        !sources.admit_message(ip(1), response),
        "a banned source is not read at all"
    );
}
