//! The tracing settings in force: the `telemetry` section, with every field it leaves out taken
//! from the standard OpenTelemetry environment variables, as any OpenTelemetry SDK does.

use std::path::PathBuf;
use std::time::Duration;

use legate_api::config::{AddressDisplay, OtlpProtocol, TelemetryConfig, TraceContextSides};
use opentelemetry_sdk::trace::{
    OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_EXPORT_TIMEOUT_DEFAULT, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT, OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_SCHEDULE_DELAY_DEFAULT,
};

/// How many transactions start a trace of their own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    /// The share of traces Legate starts that are sampled.
    pub ratio: f64,
    /// Whether a joined caller's decision (its `traceparent` flags) is followed instead.
    pub parent_based: bool,
}

/// Where and how spans are exported.
#[derive(Debug, Clone, PartialEq)]
pub struct Exporter {
    /// The URL spans are sent to (for HTTP, with `/v1/traces`).
    pub endpoint: String,
    pub protocol: OtlpProtocol,
    /// The section's headers; the exporter adds `OTEL_EXPORTER_OTLP_HEADERS` to them.
    pub headers: Vec<(String, String)>,
    pub ca: Option<PathBuf>,
    pub timeout: Duration,
}

/// The batching of spans on their way out (`OTEL_BSP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub max_queue_size: usize,
    pub schedule_delay: Duration,
    pub max_export_batch_size: usize,
    pub export_timeout: Duration,
}

/// Everything tracing runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `None`: no collector is configured, nothing is traced.
    pub exporter: Option<Exporter>,
    pub sampler: Sampler,
    pub batching: Batching,
    pub service_name: String,
    pub resource_attributes: Vec<(String, String)>,
    pub addresses: AddressDisplay,
    pub trace_context: TraceContextSides,
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{variable}: {problem}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub problem: String,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Settings {
    /// Settings that trace nothing and keep the section's trace context rules.
    pub fn disabled(config: &TelemetryConfig) -> Settings {
        Settings {
            exporter: None,
            sampler: Sampler {
                ratio: 0.0,
                parent_based: false,
            },
            batching: Batching {
                max_queue_size: OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT,
                schedule_delay: OTEL_BSP_SCHEDULE_DELAY_DEFAULT,
                max_export_batch_size: OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
                export_timeout: OTEL_BSP_EXPORT_TIMEOUT_DEFAULT,
            },
            service_name: "legate".into(),
            resource_attributes: Vec::new(),
            addresses: config.addresses,
            trace_context: config.trace_context,
        }
    }

    /// The settings of `config`, with `env` (a variable's value by name) filling in.
    pub fn resolve(
        config: &TelemetryConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let protocol = match (config.otlp.protocol, env("OTEL_EXPORTER_OTLP_PROTOCOL")) {
            (Some(protocol), _) => protocol,
            (None, Some(value)) => OtlpProtocol::from_env_value(&value).ok_or_else(|| {
                problem(
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                    format!("`{value}` is neither grpc nor http/protobuf"),
                )
            })?,
            (None, None) => OtlpProtocol::Grpc,
        };
        let endpoint = match &config.otlp.endpoint {
            Some(endpoint) => Some(signal_endpoint(endpoint, protocol)),
            None => env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
                env("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| signal_endpoint(&base, protocol))
            }),
        };
        // `OTEL_EXPORTER_OTLP_HEADERS` is added by the OTLP exporter itself.
        let headers = config
            .otlp
            .headers
            .iter()
            .map(|(name, secret)| {
                let value = secret.read().map_err(|error| {
                    problem("telemetry.otlp.headers", format!("{name}: {error}"))
                })?;
                Ok((name.clone(), String::from_utf8_lossy(&value).into_owned()))
            })
            .collect::<Result<_, SettingsError>>()?;
        let timeout = match config.otlp.timeout {
            Some(timeout) => timeout,
            None => millis(env, "OTEL_EXPORTER_OTLP_TIMEOUT")?.unwrap_or(DEFAULT_TIMEOUT),
        };
        let exporter = endpoint.map(|endpoint| Exporter {
            endpoint,
            protocol,
            headers,
            ca: config.otlp.ca.clone(),
            timeout,
        });
        let sampler = match config.sampling_ratio {
            Some(ratio) => Sampler {
                ratio,
                parent_based: true,
            },
            None => sampler_from_env(&env)?,
        };
        let mut resource_attributes: Vec<(String, String)> = config
            .resource_attributes
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if let Some(list) = env("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, value) in key_values("OTEL_RESOURCE_ATTRIBUTES", &list)? {
                if !resource_attributes.iter().any(|(k, _)| *k == key) {
                    resource_attributes.push((key, value));
                }
            }
        }
        let service_name = config
            .service_name
            .clone()
            .or_else(|| env("OTEL_SERVICE_NAME"))
            .or_else(|| {
                resource_attributes
                    .iter()
                    .find(|(key, _)| key == "service.name")
                    .map(|(_, value)| value.clone())
            })
            .unwrap_or_else(|| "legate".into());
        resource_attributes.retain(|(key, _)| key != "service.name");
        Ok(Settings {
            exporter,
            sampler,
            batching: batching_from_env(&env)?,
            service_name,
            resource_attributes,
            addresses: config.addresses,
            trace_context: config.trace_context,
        })
    }
}

/// OTLP/HTTP sends traces to `<base>/v1/traces`; gRPC takes the endpoint as it is.
fn signal_endpoint(base: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => base.to_string(),
        OtlpProtocol::HttpProtobuf if base.ends_with("/v1/traces") => base.to_string(),
        OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
    }
}

/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; the SDKs' default is
/// `parentbased_always_on`.
fn sampler_from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Sampler, SettingsError> {
    let name = env("OTEL_TRACES_SAMPLER").unwrap_or_else(|| "parentbased_always_on".into());
    let ratio = || -> Result<f64, SettingsError> {
        let Some(arg) = env("OTEL_TRACES_SAMPLER_ARG") else {
            return Ok(1.0);
        };
        match arg.trim().parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
            _ => Err(problem(
                "OTEL_TRACES_SAMPLER_ARG",
                format!("`{arg}` is not a ratio from 0 to 1"),
            )),
        }
    };
    let (ratio, parent_based) = match name.trim() {
        "always_on" => (1.0, false),
        "always_off" => (0.0, false),
        "traceidratio" => (ratio()?, false),
        "parentbased_always_on" => (1.0, true),
        "parentbased_always_off" => (0.0, true),
        "parentbased_traceidratio" => (ratio()?, true),
        other => {
            return Err(problem(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "`{other}` is not a sampler Legate knows (always_on, always_off, \
                     traceidratio, parentbased_always_on, parentbased_always_off, \
                     parentbased_traceidratio)"
                ),
            ))
        }
    };
    Ok(Sampler {
        ratio,
        parent_based,
    })
}

fn batching_from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Batching, SettingsError> {
    let count = |name: &'static str, default: usize| -> Result<usize, SettingsError> {
        match env(name) {
            None => Ok(default),
            Some(value) => match value.trim().parse::<usize>() {
                Ok(count) if count > 0 => Ok(count),
                _ => Err(problem(name, format!("`{value}` is not a positive count"))),
            },
        }
    };
    let max_queue_size = count(OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT)?;
    Ok(Batching {
        max_queue_size,
        schedule_delay: millis(env, OTEL_BSP_SCHEDULE_DELAY)?
            .unwrap_or(OTEL_BSP_SCHEDULE_DELAY_DEFAULT),
        // A batch bigger than the queue could never fill.
        max_export_batch_size: count(
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
        )?
        .min(max_queue_size),
        export_timeout: millis(env, OTEL_BSP_EXPORT_TIMEOUT)?
            .unwrap_or(OTEL_BSP_EXPORT_TIMEOUT_DEFAULT),
    })
}

/// A duration given in milliseconds, as the OpenTelemetry variables give them.
fn millis(
    env: impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Duration>, SettingsError> {
    match env(name) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|_| problem(name, format!("`{value}` is not a number of milliseconds"))),
    }
}

/// `key1=value1,key2=value2`, values percent-decoded (the W3C Baggage format the OpenTelemetry
/// variables use).
fn key_values(variable: &'static str, list: &str) -> Result<Vec<(String, String)>, SettingsError> {
    list.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| problem(variable, format!("`{}` is not key=value", pair.trim())))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(problem(variable, "an entry has no key".into()));
            }
            Ok((key.to_string(), percent_decoded(value.trim())))
        })
        .collect()
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn problem(variable: &'static str, problem: String) -> SettingsError {
    SettingsError { variable, problem }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use legate_api::config::{Secret, TraceContextMode};

    use super::*;

    fn resolve(config: &TelemetryConfig, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(config, |name| env.get(name).cloned())
    }

    #[test]
    fn nothing_configured_traces_nothing() -> Result<(), SettingsError> {
        let settings = resolve(&TelemetryConfig::default(), &[])?;
        assert_eq!(settings.exporter, None);
        assert_eq!(settings.service_name, "legate");
        assert_eq!(
            settings.sampler,
            Sampler {
                ratio: 1.0,
                parent_based: true
            }
        );
        assert_eq!(settings.trace_context.external, TraceContextMode::Strip);
        assert_eq!(settings.batching.max_queue_size, 2048);
        Ok(())
    }

    #[test]
    fn the_standard_variables_configure_what_the_section_leaves_out() -> Result<(), SettingsError> {
        let settings = resolve(
            &TelemetryConfig::default(),
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
                ("OTEL_SERVICE_NAME", "legate-dmz"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment=prod,k8s.pod.name=p%2D1",
                ),
                ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"),
                ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ],
        )?;
        let exporter = settings
            .exporter
            .ok_or_else(|| problem("test", "no exporter".into()))?;
        assert_eq!(exporter.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(exporter.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(exporter.timeout, Duration::from_millis(2500));
        assert_eq!(
            settings.sampler,
            Sampler {
                ratio: 0.25,
                parent_based: true
            }
        );
        assert_eq!(settings.service_name, "legate-dmz");
        assert_eq!(
            settings.resource_attributes,
            vec![
                ("deployment.environment".to_string(), "prod".to_string()),
                ("k8s.pod.name".to_string(), "p-1".to_string())
            ]
        );
        assert_eq!(settings.batching.max_queue_size, 100);
        assert_eq!(settings.batching.max_export_batch_size, 100);
        assert_eq!(settings.batching.schedule_delay, Duration::from_millis(200));
        Ok(())
    }

    #[test]
    fn the_section_wins_over_the_environment() -> Result<(), SettingsError> {
        let mut config = TelemetryConfig::default();
        config.otlp.endpoint = Some("http://127.0.0.1:4317".into());
        config
            .otlp
            .headers
            .insert("authorization".into(), Secret::Value("Bearer t".into()));
        config.sampling_ratio = Some(0.5);
        config.service_name = Some("from-config".into());
        let settings = resolve(
            &config,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4317"),
                ("OTEL_TRACES_SAMPLER", "always_off"),
                ("OTEL_SERVICE_NAME", "from-env"),
            ],
        )?;
        let exporter = settings
            .exporter
            .ok_or_else(|| problem("test", "no exporter".into()))?;
        assert_eq!(exporter.endpoint, "http://127.0.0.1:4317");
        assert_eq!(exporter.protocol, OtlpProtocol::Grpc);
        assert_eq!(
            exporter.headers,
            vec![("authorization".to_string(), "Bearer t".to_string())]
        );
        assert_eq!(settings.sampler.ratio, 0.5);
        assert_eq!(settings.service_name, "from-config");
        Ok(())
    }

    #[test]
    fn bad_variables_are_named() {
        for (name, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
        ] {
            let mut env = vec![(name, value)];
            if name == "OTEL_TRACES_SAMPLER" {
                env.push(("OTEL_TRACES_SAMPLER_ARG", "0.1"));
            }
            let error = resolve(&TelemetryConfig::default(), &env).err();
            assert_eq!(error.map(|e| e.variable), Some(name), "{name}={value}");
        }
        let ratio = resolve(
            &TelemetryConfig::default(),
            &[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ],
        );
        assert_eq!(
            ratio.err().map(|e| e.variable),
            Some("OTEL_TRACES_SAMPLER_ARG")
        );
    }
}
