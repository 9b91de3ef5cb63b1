//! Benchmark: latency through the frontend's `/api` proxy versus straight to the backend,
//! measured side by side in one run (requests alternate, so both see the same machine load),
//! and requests per second for the page `/`.
//!
//! Run from the repository root:
//!
//! ```sh
//! cargo bench -p todo-frontend --bench proxy
//! ```
//!
//! Knobs (environment): `BENCH_ROUNDS` (2000 request pairs), `BENCH_SECS` (5 s per throughput
//! run), `BENCH_CONCURRENCY` (16 connections). The real backend runs in this process on SQLite
//! in a temporary directory; everything binds 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Http = Client<HttpConnector, Body>;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn get(client: &Http, uri: &Uri) -> usize {
    let req = Request::get(uri.clone()).body(Body::empty()).unwrap();
    let resp = client.request(req).await.expect("request failed");
    assert!(resp.status().is_success(), "{uri}: {}", resp.status());
    resp.into_body().collect().await.unwrap().to_bytes().len()
}

struct Stats {
    p50: f64,
    p90: f64,
    p99: f64,
    mean: f64,
}

fn stats(mut micros: Vec<f64>) -> Stats {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        mean: micros.iter().sum::<f64>() / micros.len() as f64,
    }
}

async fn throughput(client: &Http, uri: &Uri, secs: u64, concurrency: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, uri, done) = (client.clone(), uri.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    get(&client, &uri).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for w in workers {
        w.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn start_backend(db: &std::path::Path) -> SocketAddr {
    let url = format!("sqlite://{}", db.display());
    let config = todo_backend::config::Config::from_lookup(|k| match k {
        "HOST" => Some("127.0.0.1".into()),
        "PORT" => Some("0".into()),
        "DATABASE_URL" => Some(url.clone()),
        "AGENT" => Some("rules".into()),
        _ => None,
    })
    .expect("backend config");
    let app = todo_backend::startup::Application::build(&config)
        .await
        .expect("backend starts");
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    addr
}

async fn start_frontend(backend: SocketAddr) -> SocketAddr {
    let url = format!("http://{backend}");
    let config = todo_frontend::config::Config::from_lookup(|k| match k {
        "HOST" => Some("127.0.0.1".into()),
        "PORT" => Some("0".into()),
        "BACKEND_URL" => Some(url.clone()),
        _ => None,
    })
    .expect("frontend config");
    let app = todo_frontend::startup::Application::build(&config)
        .await
        .expect("frontend starts");
    let addr = app.local_addr().expect("bound");
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

#[tokio::main]
async fn main() {
    let rounds = env_num("BENCH_ROUNDS", 2000);
    let secs = env_num("BENCH_SECS", 5);
    let concurrency = env_num("BENCH_CONCURRENCY", 16);
    let dir = tempfile::tempdir().unwrap();
    let backend = start_backend(&dir.path().join("bench.db")).await;
    let frontend = start_frontend(backend).await;
    let client: Http = Client::builder(TokioExecutor::new()).build(HttpConnector::new());

    // Twenty tasks, so the list has a realistic size.
    for i in 0..20 {
        let req = Request::post(format!("http://{backend}/api/demo/tasks"))
            .header("content-type", "application/json")
            .body(Body::from(format!(r#"{{"title":"task number {i}"}}"#)))
            .unwrap();
        assert_eq!(client.request(req).await.unwrap().status(), 201);
    }

    let direct: Uri = format!("http://{backend}/api/demo/tasks").parse().unwrap();
    let proxied: Uri = format!("http://{frontend}/api/demo/tasks").parse().unwrap();
    let page: Uri = format!("http://{frontend}/").parse().unwrap();
    let (a, b) = (get(&client, &direct).await, get(&client, &proxied).await);
    assert_eq!(a, b, "the proxy changed the body");

    for _ in 0..200 {
        get(&client, &direct).await;
        get(&client, &proxied).await;
    }
    let (mut d, mut p) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        // Alternate which goes first so neither always runs on a warmer cache.
        let order = if i % 2 == 0 {
            [&direct, &proxied]
        } else {
            [&proxied, &direct]
        };
        for uri in order {
            let t = Instant::now();
            get(&client, uri).await;
            let us = t.elapsed().as_secs_f64() * 1e6;
            if std::ptr::eq(uri, &direct) {
                d.push(us)
            } else {
                p.push(us)
            }
        }
    }
    let (d, p) = (stats(d), stats(p));
    println!(
        "GET /api/demo/tasks (20 tasks), {rounds} sequential requests each, alternating, keep-alive"
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "", "p50 µs", "p90 µs", "p99 µs", "mean µs"
    );
    for (name, s) in [("direct", &d), ("proxied", &p)] {
        println!(
            "{name:<10} {:>10.0} {:>10.0} {:>10.0} {:>10.0}",
            s.p50, s.p90, s.p99, s.mean
        );
    }
    println!(
        "proxy overhead p50: {:.0} µs ({:.3} ms), ratio p50 {:.2}x, ratio mean {:.2}x",
        p.p50 - d.p50,
        (p.p50 - d.p50) / 1000.0,
        p.p50 / d.p50,
        p.mean / d.mean
    );

    let direct_rps = throughput(&client, &direct, secs, concurrency).await;
    let proxied_rps = throughput(&client, &proxied, secs, concurrency).await;
    let page_rps = throughput(&client, &page, secs, concurrency).await;
    println!("throughput, {concurrency} connections, {secs} s each (client in the same process):");
    println!("  GET /api/demo/tasks direct   {direct_rps:>8.0} req/s");
    println!(
        "  GET /api/demo/tasks proxied  {proxied_rps:>8.0} req/s ({:.2}x of direct)",
        proxied_rps / direct_rps
    );
    println!("  GET / (page)                 {page_rps:>8.0} req/s");
}
