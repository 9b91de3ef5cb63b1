//! `todo-frontend healthcheck [URL]`: a probe for container `HEALTHCHECK`s that needs no shell
//! or curl. Exit 0 on a 2xx answer within 2 s.

use std::process::ExitCode;
use std::time::Duration;

use axum::body::Body;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const DEADLINE: Duration = Duration::from_secs(2);

/// GETs `url`; `Err` holds the one line to print.
pub async fn check(url: &str) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("bad URL {url:?}: only http:// URLs can be checked"));
    }
    let client: Client<HttpConnector, Body> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let req = Request::get(uri)
        .body(Body::empty())
        .map_err(|e| format!("bad URL {url:?}: {e}"))?;
    match tokio::time::timeout(DEADLINE, client.request(req)).await {
        Err(_) => Err(format!("{url}: no answer within {DEADLINE:?}")),
        Ok(Err(e)) => Err(format!("{url}: {}", crate::backend::error_chain(&e))),
        Ok(Ok(resp)) if resp.status().is_success() => Ok(()),
        Ok(Ok(resp)) => Err(format!("{url}: answered {}", resp.status())),
    }
}

/// The subcommand: exit 0 when healthy, else one line on stderr and exit 1.
pub async fn run(url: &str) -> ExitCode {
    match check(url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(line) => {
            eprintln!("healthcheck failed: {line}");
            ExitCode::FAILURE
        }
    }
}
