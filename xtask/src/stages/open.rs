//! `open`: the app on a local URL without `minikube tunnel`. A supervised port-forward to the
//! frontend Service; its URL is the first line on stdout; `--browser` also opens it. The forward
//! is started again when kubectl exits (its pod was replaced) and stopped on Ctrl-C (exit 0).

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::error::failure;
use crate::flags;
use crate::project::forward::Forward;
use crate::run::interrupted;
use crate::tools::browser;
use crate::ui::Tone;

pub fn run(cx: &Ctx, f: &flags::Open) -> Result<i32> {
    let config = cx.config()?;
    crate::project::cluster::require_context(cx, &config)?;
    let kube = cx.kube(&config);
    let services = kube.service_ports()?;
    let Some((service, port)) = services
        .iter()
        .find(|(name, ports)| name.ends_with("-frontend") && !ports.is_empty())
        .map(|(name, ports)| (name.clone(), ports[0]))
    else {
        return Err(failure(
            format!(
                "no frontend Service in namespace `{}` (context `{}`)",
                config.deploy.namespace, kube.context
            ),
            "deploy the app first: `cargo xtask up` (or `cargo xtask dev`)",
        ));
    };
    if cx.runner.dry_run() {
        cx.ui.out(&format!(
            "open: plan (dry run): port-forward 127.0.0.1:{} to service/{service} port {port}",
            if f.port == 0 {
                "ANY".to_string()
            } else {
                f.port.to_string()
            }
        ));
        return Ok(0);
    }
    let stop = interrupted()?;
    let mut fwd = Forward::start(cx, &kube, &service, port, f.port)?;
    let url = fwd.url();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        out.flush()?;
    }
    cx.ui.status(
        "Forwarding",
        &format!("{url} to service/{service} port {port} (Ctrl-C stops)"),
        Tone::Good,
    );
    if f.browser
        && let Err(e) = browser::open(&cx.runner, &url)
    {
        cx.ui.warn(&format!(
            "could not open a browser: {}; open {url} yourself",
            crate::error::render(&e).lines().next().unwrap_or("")
        ));
    }
    loop {
        std::thread::sleep(Duration::from_millis(200));
        // Ctrl-C on a terminal stops kubectl too: the flag is checked before a restart.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(msg) = fwd.keep(&kube) {
            cx.ui.status("Forward", &msg, Tone::Plain);
        }
    }
    fwd.stop();
    Ok(0)
}
