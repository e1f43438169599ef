//! What a running proxy cannot take from a new snapshot: whatever was fixed when it started its
//! runtime, and what a listener's bound socket fixes. A snapshot that changes one of these is refused (NACK) with
//! the field named, so the operator knows to restart instead of wondering why nothing changed.

use legate_api::{Config, ConfigError, LoadedConfig};

/// `Ok` when every difference between `running` and `next` can be swapped in live.
pub fn check(running: &Config, next: &LoadedConfig) -> Result<(), ConfigError> {
    let refuse = |field: &str, message: &str| Err(next.source.error(field, message));
    let new = &next.config;

    // A listener on a new address or transport is rebound (see `lifecycle::change`); one that
    // keeps its socket can only change what is read per request.
    for (index, listener) in new.listeners.iter().enumerate() {
        let Some(old) = running.listeners.iter().find(|l| l.name == listener.name) else {
            continue;
        };
        if old.address != listener.address || old.transport != listener.transport {
            continue;
        }
        let field = |name: &str| format!("listeners[{index}].{name}");
        let hint = "needs a restart, or the listener moved to a new address";
        if old.side != listener.side {
            return refuse(
                &field("side"),
                &format!("changing a listener's side {hint}"),
            );
        }
        if old.advertised_host != listener.advertised_host {
            return refuse(
                &field("advertised_host"),
                &format!("changing the advertised host {hint}"),
            );
        }
        // New certificate and key files (a rotation) swap in live.
        if old.tls.is_some() != listener.tls.is_some() {
            return refuse(&field("tls"), &format!("adding or removing TLS {hint}"));
        }
    }
    if running.admin != new.admin {
        return refuse("admin", "the admin address and token change at restart");
    }
    let (proxy, old_proxy) = (&new.proxy, &running.proxy);
    let fixed_at_start = [
        (
            "proxy.worker_threads",
            proxy.worker_threads != old_proxy.worker_threads,
        ),
        ("proxy.timers", proxy.timers != old_proxy.timers),
        ("proxy.limits", proxy.limits != old_proxy.limits),
        (
            "proxy.record_route_secret",
            proxy.record_route_secret != old_proxy.record_route_secret,
        ),
        (
            "proxy.shutdown_grace",
            proxy.shutdown_grace != old_proxy.shutdown_grace,
        ),
        (
            "proxy.dialog_idle_timeout",
            proxy.dialog_idle_timeout != old_proxy.dialog_idle_timeout,
        ),
    ];
    if let Some((field, _)) = fixed_at_start.iter().find(|(_, changed)| *changed) {
        return refuse(field, "this setting changes at restart");
    }
    if running.audit != new.audit {
        return refuse(
            "audit",
            "the audit log (sinks, spool, partition) changes at restart",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
admin:
  address: 127.0.0.1:9901
listeners:
  - name: internal
    address: 127.0.0.1:5060
    transport: udp
    side: internal
";

    fn load(text: &str) -> LoadedConfig {
        legate_api::load_str(text, "next.yaml").unwrap()
    }

    fn refusal(next: &str) -> String {
        let running = load(BASE).config;
        check(&running, &load(next)).unwrap_err().to_string()
    }

    #[test]
    fn filters_routes_and_clusters_change_live() {
        let running = load(BASE).config;
        let next = format!(
            "{BASE}clusters:\n  - name: c\n    endpoints: [127.0.0.1:5070]\n    transport: udp\n"
        );
        assert!(check(&running, &load(&next)).is_ok());
        assert!(check(&running, &load(BASE)).is_ok());
    }

    #[test]
    fn listeners_may_be_added_removed_or_moved() {
        let running = load(BASE).config;
        let added = format!(
            "{BASE}  - name: external\n    address: 127.0.0.1:5080\n    transport: udp\n    side: external\n"
        );
        assert!(check(&running, &load(&added)).is_ok());
        assert!(check(&load(&added).config, &load(BASE)).is_ok());
        assert!(check(&running, &load(&BASE.replace("5060", "5061"))).is_ok());
    }

    #[test]
    fn a_listener_keeping_its_socket_cannot_change_side_and_the_admin_address_is_fixed() {
        let error = refusal(&BASE.replace("side: internal", "side: external"));
        assert!(
            error.starts_with("next.yaml:7:") && error.contains("listeners[0].side"),
            "{error}"
        );
        let error = refusal(&BASE.replace("9901", "9902"));
        assert!(error.contains("admin: "), "{error}");
    }

    #[test]
    fn start_time_settings_and_audit_are_refused() {
        let error = refusal(&format!("{BASE}proxy:\n  worker_threads: 3\n"));
        assert!(error.contains("proxy.worker_threads"), "{error}");
        let error = refusal(&format!(
            "{BASE}audit:\n  sinks:\n    - {{ name: log, stdout: {{}} }}\n"
        ));
        assert!(error.contains("audit: "), "{error}");
    }
}
