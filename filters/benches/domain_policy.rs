//! Domain policy evaluation over 100 000 rules: the per-request cost of the same
//! `CompiledPolicy::evaluate` the filter calls, with the first match near the start, near the
//! end, and nowhere (the default decides); plus compiling the rules once.
//!
//! `cargo bench -p legate-filters --bench domain_policy`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use legate_directory::StaticDirectory;
use legate_filters::domain_policy::{
    Action, CompiledPolicy, Direction, DomainPolicyConfig, PolicyInput, RuleConfig, Service,
};
use legate_filters_api::Directories;

const RULES: usize = 100_000;

/// A mix of exact-domain, wildcard and any-domain rules with group, user and service
/// conditions; the last one is the only rule for `last.example`.
fn config() -> DomainPolicyConfig {
    let services = [
        vec![Service::Im, Service::Presence],
        vec![Service::Voice, Service::Video],
        vec![Service::Chat, Service::FileTransfer],
    ];
    let mut rules = Vec::with_capacity(RULES);
    for i in 0..RULES - 1 {
        let mut rule = RuleConfig {
            id: format!("rule-{i}"),
            action: if i % 2 == 0 {
                Action::Allow
            } else {
                Action::Deny
            },
            remote_domains: None,
            local_groups: None,
            local_users: None,
            services: None,
            direction: None,
        };
        match i % 5 {
            0 | 1 => rule.remote_domains = Some(vec![format!("d{i}.example")]),
            2 => {
                rule.remote_domains = Some(vec![format!("*.w{i}.example")]);
                rule.services = Some(services[i % 3].clone());
            }
            3 => {
                rule.local_groups = Some(vec![format!("g{i}")]);
                rule.services = Some(services[i % 3].clone());
                rule.direction = Some(Direction::Outbound);
            }
            _ => {
                rule.remote_domains = Some(vec![format!("d{i}.example")]);
                rule.local_users = Some(vec![format!("u{i}@corp.example")]);
            }
        }
        rules.push(rule);
    }
    rules.push(RuleConfig {
        id: "last".into(),
        action: Action::Allow,
        remote_domains: Some(vec!["last.example".into()]),
        local_groups: None,
        local_users: None,
        services: Some(vec![Service::Im]),
        direction: None,
    });
    DomainPolicyConfig {
        directory: Some("corp".into()),
        exposed_groups: None,
        default: Action::Deny,
        rules,
    }
}

fn directories() -> Directories {
    let mut directories = Directories::new();
    directories.insert("corp", Arc::new(StaticDirectory::default()));
    directories
}

fn bench(c: &mut Criterion) {
    let config = config();
    let directories = directories();
    let policy = match CompiledPolicy::compile(&config, Some(&directories)) {
        Ok(policy) => policy,
        Err(error) => panic!("benchmark config does not compile: {error}"),
    };
    // The local user is in some groups, none of which a rule names except in case (a).
    let groups: Vec<String> = vec!["staff".into(), "federated".into(), "g3".into()];
    let plain: Vec<String> = vec!["staff".into(), "federated".into()];
    let cases = [
        ("first_match_near_start", "d0.example", &groups, Some(0)),
        (
            "first_match_near_end",
            "last.example",
            &plain,
            Some(RULES - 1),
        ),
        ("no_match_default", "x.nowhere.example", &plain, None),
    ];
    for (name, domain, groups, expected) in cases {
        let input = PolicyInput {
            direction: Direction::Outbound,
            service: Service::Im,
            remote_domain: domain,
            local_user: Some("alice@corp.example"),
            local_groups: groups,
        };
        assert_eq!(policy.evaluate(&input).rule, expected, "{name}");
        c.bench_function(&format!("domain_policy/evaluate/{name}"), |b| {
            b.iter(|| policy.evaluate(black_box(&input)))
        });
    }
    let mut group = c.benchmark_group("domain_policy/compile");
    group.sample_size(10);
    group.bench_function("100k_rules", |b| {
        b.iter(|| CompiledPolicy::compile(black_box(&config), Some(&directories)).is_ok())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
