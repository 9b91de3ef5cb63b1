//! Configuration, read once from the environment at start and validated.
//!
//! Variables: `PORT` (3000), `HOST` (`0.0.0.0`), `BACKEND_URL` (`http://localhost:8000`),
//! `LOG_FORMAT` (`text|json`), `SHUTDOWN_DELAY` (0 s), `HEADER_READ_TIMEOUT` and
//! `BODY_READ_TIMEOUT` (10 s each), `COOKIE_SECURE` (`auto|always`), `RUST_LOG` (read by the
//! telemetry module).

use std::fmt;
use std::net::IpAddr;

use hyper::Uri;

/// The validated settings of one frontend process.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub backend: BackendUrl,
    pub log_format: LogFormat,
    /// The shutdown delay and the read timeouts of the serve loop.
    pub serve: todo_serve::Options,
    pub cookie_secure: CookieSecure,
}

/// When cookies carry `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    /// When the request came over TLS: `X-Forwarded-Proto: https` from the ingress.
    Auto,
    /// Always (a deployment that is only ever reached over HTTPS).
    Always,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A bad environment variable: names it, the value and the fix.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}\nhelp: {help}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
    pub help: String,
}

/// The backend's base address: `http://host[:port]` with no path, query or credentials.
///
/// Holding one proves the proxy can join `/api/...` paths to it without surprises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendUrl {
    authority: String,
}

impl BackendUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let uri: Uri = raw
            .trim_end_matches('/')
            .parse()
            .map_err(|e| format!("not a URL ({e})"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(format!("scheme {other:?} is not supported, only http")),
            None => return Err("missing the http:// scheme".into()),
        }
        let authority = uri.authority().ok_or("missing a host")?;
        if authority.as_str().contains('@') {
            return Err("credentials in the URL are not allowed".into());
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err("must not have a path or query".into());
        }
        Ok(Self {
            authority: authority.as_str().to_owned(),
        })
    }

    /// The absolute URI of `path_and_query` (which starts with `/`) on the backend.
    pub fn join(&self, path_and_query: &str) -> Result<Uri, hyper::http::Error> {
        Uri::builder()
            .scheme("http")
            .authority(self.authority.as_str())
            .path_and_query(path_and_query)
            .build()
    }
}

impl fmt::Display for BackendUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.authority)
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str, default: &str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let port_raw = var("PORT", "3000");
        let port = port_raw.trim().parse::<u16>().map_err(|e| ConfigError {
            var: "PORT",
            value: port_raw.clone(),
            reason: e.to_string(),
            help: "set PORT to a TCP port number such as 3000, or unset it".into(),
        })?;
        let host_raw = var("HOST", "0.0.0.0");
        let host = host_raw.trim().parse::<IpAddr>().map_err(|e| ConfigError {
            var: "HOST",
            value: host_raw.clone(),
            reason: e.to_string(),
            help: "set HOST to an IP address to bind, such as 0.0.0.0 or 127.0.0.1".into(),
        })?;
        let backend_raw = var("BACKEND_URL", "http://localhost:8000");
        let backend = BackendUrl::parse(backend_raw.trim()).map_err(|reason| ConfigError {
            var: "BACKEND_URL",
            value: backend_raw.clone(),
            reason,
            help: "set BACKEND_URL to the backend's base address, such as http://todo-backend:8000"
                .into(),
        })?;
        let format_raw = var("LOG_FORMAT", "text");
        let log_format = match format_raw.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError {
                    var: "LOG_FORMAT",
                    value: format_raw,
                    reason: "unknown log format".into(),
                    help: "set LOG_FORMAT to text or json".into(),
                });
            }
        };
        let secure_raw = var("COOKIE_SECURE", "auto");
        let cookie_secure = match secure_raw.trim() {
            "auto" => CookieSecure::Auto,
            "always" => CookieSecure::Always,
            _ => {
                return Err(ConfigError {
                    var: "COOKIE_SECURE",
                    value: secure_raw,
                    reason: "unknown setting".into(),
                    help: "set COOKIE_SECURE to auto (Secure over TLS) or always".into(),
                });
            }
        };
        let serve = todo_serve::Options::from_lookup(&get).map_err(|e| ConfigError {
            var: e.var,
            value: e.value,
            reason: e.reason,
            help: e.help,
        })?;
        Ok(Self {
            host,
            port,
            backend,
            log_format,
            serve,
            cookie_secure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 3000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.backend.to_string(), "http://localhost:8000");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.serve, todo_serve::Options::default());
        assert_eq!(c.cookie_secure, CookieSecure::Auto);
        let c = cfg(&[("SHUTDOWN_DELAY", "2.5")]).unwrap();
        assert_eq!(c.serve.shutdown_delay.as_millis(), 2500);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        for (var, value) in [
            ("PORT", "99999"),
            ("HOST", "example"),
            ("BACKEND_URL", "https://x"),
            ("BACKEND_URL", "backend:8000"),
            ("BACKEND_URL", "http://u:p@x:1"),
            ("BACKEND_URL", "http://x/api"),
            ("LOG_FORMAT", "xml"),
            ("SHUTDOWN_DELAY", "5s"),
            ("COOKIE_SECURE", "yes"),
            ("HEADER_READ_TIMEOUT", "0"),
            ("BODY_READ_TIMEOUT", "-1"),
        ] {
            let err = cfg(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            let text = err.to_string();
            assert!(text.contains(var) && text.contains("help: "), "{text}");
        }
    }

    #[test]
    fn backend_url_joins_paths() {
        let b = BackendUrl::parse("http://svc:8000/").unwrap();
        assert_eq!(
            b.join("/api/demo/tasks?status=all").unwrap().to_string(),
            "http://svc:8000/api/demo/tasks?status=all"
        );
    }
}
