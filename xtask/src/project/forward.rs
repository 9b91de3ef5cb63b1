//! Supervised port-forwards for `dev` and `open`: `kubectl port-forward service/NAME` on
//! 127.0.0.1, started again on the same local port when kubectl exits (it does when the pod it
//! forwards to goes away, e.g. in a rollout).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::ctx::Ctx;
use crate::run::Supervised;
use crate::tools::kubectl::Kube;

/// How long kubectl may take to print its "Forwarding from" line.
const READY: Duration = Duration::from_secs(30);
/// The least time between two restarts of one forward.
const RESTART_GAP: Duration = Duration::from_secs(2);

pub struct Forward {
    pub service: String,
    remote: u16,
    /// The local port kubectl listens on (what its "Forwarding from" line said).
    pub local: u16,
    process: Option<Supervised>,
    last_start: Instant,
}

/// `wanted` when it is free on 127.0.0.1, else another free port; 0 stays 0 (kubectl picks).
pub fn free_port(wanted: u16) -> Result<u16> {
    if wanted == 0 || TcpListener::bind(("127.0.0.1", wanted)).is_ok() {
        return Ok(wanted);
    }
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

impl Forward {
    /// Forwards `127.0.0.1:local` (another free port when it is busy; any with 0) to port
    /// `remote` of `service`.
    pub fn start(cx: &Ctx, kube: &Kube, service: &str, remote: u16, local: u16) -> Result<Forward> {
        let port = free_port(local)?;
        if port != local {
            cx.ui.warn(&format!(
                "127.0.0.1:{local} is in use; forwarding {service} from 127.0.0.1:{port} instead"
            ));
        }
        let (process, actual) = kube.port_forward_on(service, port, remote, READY)?;
        Ok(Forward {
            service: service.to_string(),
            remote,
            local: actual,
            process: Some(process),
            last_start: Instant::now(),
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.local)
    }

    /// Starts kubectl again (same local port), e.g. after the pods were replaced.
    pub fn restart(&mut self, kube: &Kube) -> Result<()> {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_millis(300));
        }
        self.last_start = Instant::now();
        let (process, actual) =
            kube.port_forward_on(&self.service, self.local, self.remote, READY)?;
        self.process = Some(process);
        self.local = actual;
        Ok(())
    }

    /// Restarts the forward when kubectl has exited; `Some(what happened)` when it did.
    pub fn keep(&mut self, kube: &Kube) -> Option<String> {
        let exited = match self.process.as_mut() {
            Some(p) => matches!(p.exited(), Ok(Some(_))),
            None => true,
        };
        if !exited || self.last_start.elapsed() < RESTART_GAP {
            return None;
        }
        Some(match self.restart(kube) {
            Ok(()) => format!(
                "port-forward to {} re-established on {}",
                self.service,
                self.url()
            ),
            Err(e) => {
                self.process = None;
                format!(
                    "port-forward to {} lost; trying again: {}",
                    self.service,
                    crate::error::render(&e).lines().next().unwrap_or("")
                )
            }
        })
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_millis(300));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_port_is_replaced_by_a_free_one() {
        let held = TcpListener::bind(("127.0.0.1", 0)).expect("listener");
        let busy = held.local_addr().expect("addr").port();
        let other = free_port(busy).expect("a port");
        assert_ne!(other, busy);
        assert_ne!(other, 0);
        assert_eq!(free_port(0).expect("zero"), 0);
        drop(held);
        assert_eq!(free_port(busy).expect("free again"), busy);
    }
}
