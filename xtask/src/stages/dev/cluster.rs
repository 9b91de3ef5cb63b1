//! The cluster as `dev`, `open` and `logs` see it: one kubectl context and the app's namespace,
//! and the long-running kubectl processes (port-forwards, followed logs) they supervise.

use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::config::Config;
use crate::ctx::Ctx;
use crate::stages::background::{Background, Output};
use crate::tools::kubectl::{self, LogsQuery, Pod};
use crate::tools::{self, workloads};

pub struct Kube<'a> {
    cx: &'a Ctx,
    pub context: String,
    pub namespace: String,
}

impl<'a> Kube<'a> {
    /// The profile's context (minikube names it after the profile) and the app's namespace.
    pub fn new(cx: &'a Ctx, config: &Config) -> Kube<'a> {
        Kube {
            cx,
            context: config.cluster.profile.clone(),
            namespace: config.deploy.namespace.clone(),
        }
    }

    fn ctx(&self) -> Option<&str> {
        Some(&self.context)
    }

    pub fn pods(&self, selector: Option<&str>) -> Result<Vec<Pod>> {
        kubectl::pods(&self.cx.runner, self.ctx(), &self.namespace, selector)
    }

    /// The ports of every Service, by name.
    pub fn service_ports(&self) -> Result<Vec<(String, Vec<u16>)>> {
        workloads::service_ports(&self.cx.runner, self.ctx(), &self.namespace)
    }

    /// The log lines of `q` (not following).
    pub fn logs(&self, q: &LogsQuery) -> Result<String> {
        kubectl::logs(&self.cx.runner, self.ctx(), &self.namespace, q)
    }

    /// `kubectl logs --follow` of `q`, supervised; its stdout lines are to be taken.
    pub fn follow_logs(&self, name: &str, q: &LogsQuery) -> Result<Background> {
        let q = LogsQuery {
            follow: true,
            ..q.clone()
        };
        let args = kubectl::logs_args(self.ctx(), &self.namespace, &q);
        Background::start(self.cx, name, &kubectl_path()?, &args, &[], Output::Lines)
    }

    /// `kubectl port-forward service/NAME LOCAL:REMOTE` on 127.0.0.1 (`local` 0: any port),
    /// supervised; returns it and the local port once kubectl said it forwards (within `ready`).
    pub fn port_forward_on(
        &self,
        service: &str,
        local: u16,
        remote: u16,
        ready: Duration,
    ) -> Result<(Background, u16)> {
        let args =
            workloads::port_forward_args_on(self.ctx(), &self.namespace, service, local, remote);
        let mut pf = Background::start(
            self.cx,
            &format!("port-forward to {service}"),
            &kubectl_path()?,
            &args,
            &[],
            Output::Lines,
        )?;
        let port = pf.wait_line(ready, workloads::parse_forwarding)?;
        Ok((pf, port))
    }
}

fn kubectl_path() -> Result<std::path::PathBuf> {
    tools::find("kubectl").ok_or_else(|| {
        anyhow!(
            "`kubectl` was not found on PATH; run `cargo xtask doctor` to see how to install it"
        )
    })
}
