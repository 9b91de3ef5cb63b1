//! Configuration read once from the environment, validated, and printable with secrets redacted.
//!
//! Every variable has a default that runs the app locally. A bad value is a [`ConfigError`] that
//! names the variable and the fix; `main` turns it into exit code 2.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use secrecy::{ExposeSecret, SecretString};

use crate::net::{Cidr, DEFAULT_TRUSTED_PROXIES, HostAllowList};

/// Where the data lives.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (or `sqlite::memory:`), created when missing.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`; may carry a password, so it is kept secret.
    Postgres(SecretString),
}

impl DatabaseUrl {
    /// Parses a `DATABASE_URL` value.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            // The parse error may quote the URL, password included, so it is not shown.
            PgConnectOptions::from_str(value).map_err(|_| {
                ConfigError::new(
                    "DATABASE_URL",
                    "is not a valid postgres URL",
                    "use postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=require]",
                )
            })?;
            Ok(Self::Postgres(SecretString::from(value.to_owned())))
        } else if value.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(value).map_err(|e| {
                ConfigError::new(
                    "DATABASE_URL",
                    format!("is not a valid sqlite URL: {e}"),
                    "use sqlite://PATH (relative to the working directory) or sqlite:///ABSOLUTE/PATH",
                )
            })?;
            Ok(Self::Sqlite(value.to_owned()))
        } else {
            Err(ConfigError::new(
                "DATABASE_URL",
                "is neither a postgres:// nor a sqlite:// URL",
                "set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB or sqlite://PATH, or unset it for sqlite://todo.db",
            ))
        }
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(url) => url.clone(),
            Self::Postgres(url) => redact_url_password(url.expose_secret()),
        }
    }
}

fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            // Query parameters can carry passwords too.
            let tail = tail.split('?').next().unwrap_or_default();
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => format!(
            "{scheme}://{authority}{}",
            tail.split('?').next().unwrap_or_default()
        ),
    }
}

/// Which agent answers chat messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentMode {
    /// The model when `OPENAI_API_KEY` is set, else the rules.
    Auto,
    /// The offline rule-based agent.
    Rules,
    /// An OpenAI-compatible chat-completions model.
    OpenAi,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings of the OpenAI-compatible model.
#[derive(Clone)]
pub struct OpenAiConfig {
    pub api_key: Option<SecretString>,
    pub base_url: String,
    pub model: String,
}

/// How much password hashing and how many failed logins the backend accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Password hashes computed at once (each holds 12 MiB, reused).
    pub hash_concurrency: usize,
    /// How long a login or sign-up waits for a free hashing slot before 503 `busy`.
    pub hash_wait: Duration,
    /// Failed logins per account within `failure_window`; 0 turns the limit off.
    pub failures_per_account: u32,
    /// Failed logins per client address within `failure_window`; 0 turns the limit off.
    pub failures_per_address: u32,
    /// Sign-ups that reach the password hash, per client address within `failure_window`; 0
    /// turns the limit off.
    pub signups_per_address: u32,
    pub failure_window: Duration,
}

impl LoginLimits {
    /// The default number of hashes at once: the cores this process may use, at most 2, so that
    /// hashing never needs more than 24 MiB whatever the machine.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 2)
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            hash_concurrency: Self::default_concurrency(),
            hash_wait: Duration::from_secs(2),
            failures_per_account: 10,
            failures_per_address: 50,
            signups_per_address: 20,
            failure_window: Duration::from_secs(900),
        }
    }
}

/// The whole configuration of the backend.
#[derive(Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub database_url: DatabaseUrl,
    pub agent: AgentMode,
    pub openai: OpenAiConfig,
    pub auth_secret: Option<SecretString>,
    pub log_format: LogFormat,
    pub login: LoginLimits,
    /// Peers whose `X-Forwarded-For` is believed (the frontend, an ingress).
    pub trusted_proxies: Vec<Cidr>,
    /// The host names `/mcp` answers to beyond the built-in ones.
    pub mcp_allowed_hosts: HostAllowList,
    /// The shutdown delay and the read timeouts of the serve loop.
    pub serve: todo_serve::Options,
}

/// A variable with a value the app cannot use.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}: {problem}\nhelp: {help}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
    pub help: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
            help: help.into(),
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let port = parse_port(get("PORT").as_deref())?;
        let host = match get("HOST") {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(v) => v.trim().parse().map_err(|_| {
                ConfigError::new(
                    "HOST",
                    format!("{v:?} is not an IP address"),
                    "set HOST to a bind address such as 0.0.0.0, 127.0.0.1 or ::",
                )
            })?,
        };
        let database_url = DatabaseUrl::parse(
            get("DATABASE_URL")
                .as_deref()
                .unwrap_or("sqlite://todo.db")
                .trim(),
        )?;
        let api_key = get("OPENAI_API_KEY").map(|k| SecretString::from(k.trim().to_owned()));
        let agent = match get("AGENT").as_deref().map(str::trim) {
            None | Some("auto") => AgentMode::Auto,
            Some("rules") => AgentMode::Rules,
            Some("openai") => AgentMode::OpenAi,
            Some(other) => {
                return Err(ConfigError::new(
                    "AGENT",
                    format!("{other:?} is not one of auto, rules, openai"),
                    "set AGENT=auto (model when OPENAI_API_KEY is set), AGENT=rules or AGENT=openai",
                ));
            }
        };
        if agent == AgentMode::OpenAi && api_key.is_none() {
            return Err(ConfigError::new(
                "AGENT",
                "is openai but OPENAI_API_KEY is not set",
                "set OPENAI_API_KEY, or use AGENT=rules for the offline agent",
            ));
        }
        let base_url = get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ConfigError::new(
                "OPENAI_BASE_URL",
                format!("{base_url:?} is not an http(s) URL"),
                "set OPENAI_BASE_URL to the API root, e.g. https://api.openai.com/v1",
            ));
        }
        let model = get("OPENAI_MODEL")
            .map(|m| m.trim().to_owned())
            .unwrap_or_else(|| "gpt-4o-mini".into());
        let auth_secret = get("AUTH_SECRET").map(SecretString::from);
        let log_format = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("{other:?} is not one of text, json"),
                    "set LOG_FORMAT=text or LOG_FORMAT=json",
                ));
            }
        };
        let login = login_limits(&get)?;
        let trusted_proxies = Cidr::parse_list(
            get("TRUSTED_PROXIES")
                .as_deref()
                .unwrap_or(DEFAULT_TRUSTED_PROXIES),
        )
        .map_err(|problem| {
            ConfigError::new(
                "TRUSTED_PROXIES",
                problem,
                "set TRUSTED_PROXIES to comma-separated ADDRESS/PREFIX ranges (e.g. 10.0.0.0/8,127.0.0.1), or none",
            )
        })?;
        let mcp_allowed_hosts = HostAllowList::parse(
            get("MCP_ALLOWED_HOSTS").as_deref().unwrap_or_default(),
        )
        .map_err(|problem| {
            ConfigError::new(
                "MCP_ALLOWED_HOSTS",
                problem,
                "set MCP_ALLOWED_HOSTS to comma-separated host names (mcp.example.com), .suffix entries (.example.com), or * to allow any host",
            )
        })?;
        let serve = todo_serve::Options::from_lookup(get).map_err(|e| {
            ConfigError::new(e.var, format!("{:?} is {}", e.value, e.reason), e.help)
        })?;
        Ok(Self {
            serve,
            host,
            port,
            database_url,
            agent,
            openai: OpenAiConfig {
                api_key,
                base_url,
                model,
            },
            auth_secret,
            log_format,
            login,
            trusted_proxies,
            mcp_allowed_hosts,
        })
    }

    /// The agent that will answer: `auto` resolves to the model only when a key is set.
    pub fn effective_agent(&self) -> AgentMode {
        match (self.agent, &self.openai.api_key) {
            (AgentMode::Auto, Some(_)) | (AgentMode::OpenAi, _) => AgentMode::OpenAi,
            _ => AgentMode::Rules,
        }
    }
}

/// Reads the password-hashing and failed-login variables.
fn login_limits(get: &impl Fn(&str) -> Option<String>) -> Result<LoginLimits, ConfigError> {
    let defaults = LoginLimits::default();
    let number =
        |var: &'static str, default: u64, range: std::ops::RangeInclusive<u64>, help: &str| {
            match get(var) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        ConfigError::new(
                            var,
                            format!(
                                "{v:?} is not a whole number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                            help.to_owned(),
                        )
                    }),
            }
        };
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(LoginLimits {
        hash_concurrency: usize::try_from(number(
            "PASSWORD_HASH_CONCURRENCY",
            defaults.hash_concurrency as u64,
            1..=64,
            "set PASSWORD_HASH_CONCURRENCY to the number of password hashes run at once (each needs 12 MiB), e.g. 2",
        )?)
        .unwrap_or(1),
        hash_wait: Duration::from_millis(number(
            "PASSWORD_HASH_WAIT_MS",
            defaults.hash_wait.as_millis() as u64,
            0..=60_000,
            "set PASSWORD_HASH_WAIT_MS to how long a login may wait for a hashing slot, in milliseconds, e.g. 2000",
        )?),
        failures_per_account: count(number(
            "LOGIN_FAILURES_PER_ACCOUNT",
            u64::from(defaults.failures_per_account),
            0..=1_000_000,
            "set LOGIN_FAILURES_PER_ACCOUNT to a whole number (0 turns the limit off), e.g. 10",
        )?),
        failures_per_address: count(number(
            "LOGIN_FAILURES_PER_ADDRESS",
            u64::from(defaults.failures_per_address),
            0..=1_000_000,
            "set LOGIN_FAILURES_PER_ADDRESS to a whole number (0 turns the limit off), e.g. 50",
        )?),
        signups_per_address: count(number(
            "SIGNUPS_PER_ADDRESS",
            u64::from(defaults.signups_per_address),
            0..=1_000_000,
            "set SIGNUPS_PER_ADDRESS to a whole number (0 turns the limit off), e.g. 20",
        )?),
        failure_window: Duration::from_secs(number(
            "LOGIN_FAILURE_WINDOW_SECS",
            defaults.failure_window.as_secs(),
            1..=86_400,
            "set LOGIN_FAILURE_WINDOW_SECS to the window of the log-in and sign-up limits in seconds, e.g. 900",
        )?),
    })
}

/// Parses `PORT` (default 8000); shared with the `healthcheck` subcommand.
pub fn parse_port(value: Option<&str>) -> Result<u16, ConfigError> {
    match value.map(str::trim) {
        None | Some("") => Ok(8000),
        Some(v) => v.parse::<u16>().map_err(|_| {
            ConfigError::new(
                "PORT",
                format!("{v:?} is not a port number (0-65535)"),
                "set PORT to a number such as 8000, or unset it",
            )
        }),
    }
}

impl fmt::Debug for Config {
    /// The same redacted text as `Display`, so a debug print never leaks a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Config {
    /// One line per setting, secrets redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<SecretString>| {
            if s.is_some() {
                "set (redacted)"
            } else {
                "unset"
            }
        };
        write!(
            f,
            "bind={}:{} database={} agent={:?} (effective {:?}) openai_base_url={} openai_model={} openai_api_key={} auth_secret={} log_format={:?} password_hash_concurrency={} password_hash_wait_ms={} login_failures_per_account={} login_failures_per_address={} signups_per_address={} login_failure_window_secs={} trusted_proxies={} mcp_allowed_hosts={} shutdown_delay={:?} header_read_timeout={:?} body_read_timeout={:?}",
            self.host,
            self.port,
            self.database_url.redacted(),
            self.agent,
            self.effective_agent(),
            self.openai.base_url,
            self.openai.model,
            set(&self.openai.api_key),
            set(&self.auth_secret),
            self.log_format,
            self.login.hash_concurrency,
            self.login.hash_wait.as_millis(),
            self.login.failures_per_account,
            self.login.failures_per_address,
            self.login.signups_per_address,
            self.login.failure_window.as_secs(),
            if self.trusted_proxies.is_empty() {
                "none".to_owned()
            } else {
                self.trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            },
            self.mcp_allowed_hosts.describe(),
            self.serve.shutdown_delay,
            self.serve.header_read_timeout,
            self.serve.body_read_timeout,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_locally() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.port, 8000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert!(matches!(c.database_url, DatabaseUrl::Sqlite(ref u) if u == "sqlite://todo.db"));
        assert_eq!(c.effective_agent(), AgentMode::Rules);
        assert_eq!(c.openai.model, "gpt-4o-mini");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.login, LoginLimits::default());
        assert!((1..=2).contains(&c.login.hash_concurrency));
        assert_eq!(c.trusted_proxies.len(), 6);
        assert_eq!(c.mcp_allowed_hosts, HostAllowList::default());
        assert_eq!(c.serve, todo_serve::Options::default());
    }

    #[test]
    fn login_limits_and_proxies_are_configurable() {
        let c = config(&[
            ("PASSWORD_HASH_CONCURRENCY", "3"),
            ("PASSWORD_HASH_WAIT_MS", "250"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("LOGIN_FAILURES_PER_ADDRESS", "7"),
            ("SIGNUPS_PER_ADDRESS", "4"),
            ("LOGIN_FAILURE_WINDOW_SECS", "60"),
            ("TRUSTED_PROXIES", "none"),
            ("MCP_ALLOWED_HOSTS", "mcp.example.com"),
        ])
        .expect("valid");
        assert_eq!(c.login.hash_concurrency, 3);
        assert_eq!(c.login.hash_wait, Duration::from_millis(250));
        assert_eq!(c.login.failures_per_account, 0);
        assert_eq!(c.login.failures_per_address, 7);
        assert_eq!(c.login.signups_per_address, 4);
        assert_eq!(c.login.failure_window, Duration::from_secs(60));
        assert!(c.trusted_proxies.is_empty());
        assert!(c.mcp_allowed_hosts.allows("mcp.example.com"));
        let shown = c.to_string();
        assert!(shown.contains("trusted_proxies=none"), "{shown}");
        assert!(shown.contains("password_hash_concurrency=3"), "{shown}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("HOST", "localhost:1"),
            ("DATABASE_URL", "mysql://x"),
            ("DATABASE_URL", "postgres://u:p@host:notaport/db"),
            ("AGENT", "gpt"),
            ("LOG_FORMAT", "xml"),
            ("SHUTDOWN_DELAY", "5s"),
            ("HEADER_READ_TIMEOUT", "0"),
            ("BODY_READ_TIMEOUT", "-2"),
            ("OPENAI_BASE_URL", "ftp://x"),
            ("PASSWORD_HASH_CONCURRENCY", "0"),
            ("PASSWORD_HASH_CONCURRENCY", "many"),
            ("PASSWORD_HASH_WAIT_MS", "-1"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "ten"),
            ("LOGIN_FAILURES_PER_ADDRESS", "1.5"),
            ("LOGIN_FAILURE_WINDOW_SECS", "0"),
            ("TRUSTED_PROXIES", "10.0.0.0/99"),
            ("TRUSTED_PROXIES", "frontend"),
            ("MCP_ALLOWED_HOSTS", "evil example"),
        ] {
            let err = config(&[(var, value)]).expect_err("must fail");
            assert_eq!(err.var, var);
            assert!(err.to_string().contains("help: "), "{err}");
        }
    }

    #[test]
    fn openai_needs_a_key_and_auto_uses_it() {
        assert_eq!(
            config(&[("AGENT", "openai")]).err().map(|e| e.var),
            Some("AGENT")
        );
        let c = config(&[("OPENAI_API_KEY", "sk-test")]).expect("valid");
        assert_eq!(c.effective_agent(), AgentMode::OpenAi);
        let c = config(&[("OPENAI_API_KEY", "sk-test"), ("AGENT", "rules")]).expect("valid");
        assert_eq!(c.effective_agent(), AgentMode::Rules);
    }

    #[test]
    fn display_redacts_secrets() {
        let c = config(&[
            ("OPENAI_API_KEY", "sk-very-secret"),
            ("AUTH_SECRET", "hunter2-hunter2"),
            (
                "DATABASE_URL",
                "postgres://app:pw123@db.example/todo?sslmode=require&password=pw123",
            ),
        ])
        .expect("valid");
        let shown = c.to_string();
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("pw123"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.example/todo"),
            "{shown}"
        );
    }
}
