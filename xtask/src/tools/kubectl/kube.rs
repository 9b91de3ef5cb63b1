//! [`Kube`]: one cluster and namespace, as every cluster-facing stage sees them.

use std::time::Duration;

use anyhow::Result;

use super::workloads::{self, Container};
use super::{Event, LogsQuery, Object, Pod, Service};
use crate::run::{Call, Runner, Streams, Supervised};

/// The runner, the kubectl context (resolved once, see `Config::context`) and the app's
/// namespace. Every kubectl call of a stage goes through one, so none can forget `--context`.
#[derive(Clone, Copy)]
pub struct Kube<'a> {
    pub runner: &'a Runner,
    pub context: &'a str,
    pub namespace: &'a str,
}

impl<'a> Kube<'a> {
    pub fn new(runner: &'a Runner, context: &'a str, namespace: &'a str) -> Kube<'a> {
        Kube {
            runner,
            context,
            namespace,
        }
    }

    /// The same cluster, another namespace (e.g. kagent's).
    pub fn in_namespace(&self, namespace: &'a str) -> Kube<'a> {
        Kube { namespace, ..*self }
    }

    fn ctx(&self) -> Option<&'a str> {
        Some(self.context)
    }

    /// The pods of the namespace (optionally matching a label selector).
    pub fn pods(&self, selector: Option<&str>) -> Result<Vec<Pod>> {
        super::pods(self.runner, self.ctx(), self.namespace, selector)
    }

    pub fn services(&self) -> Result<Vec<Service>> {
        super::services(self.runner, self.ctx(), self.namespace)
    }

    /// The ports of every Service, by name.
    /// The ports (`spec.ports[].port`) of every Service, by Service name.
    pub fn service_ports(&self) -> Result<Vec<(String, Vec<u16>)>> {
        Ok(self
            .services()?
            .into_iter()
            .map(|s| (s.name, s.ports))
            .collect())
    }

    /// Ready and total endpoints behind `service`.
    pub fn service_endpoints(&self, service: &str) -> Result<(usize, usize)> {
        workloads::service_endpoints(self.runner, self.ctx(), self.namespace, service)
    }

    /// The containers of the namespace's Deployments and StatefulSets.
    pub fn containers(&self) -> Result<Vec<Container>> {
        workloads::containers(self.runner, self.ctx(), self.namespace)
    }

    /// Objects of `kinds` (comma-separated) matching `selector`.
    pub fn objects(
        &self,
        kinds: &str,
        selector: &str,
        columns: &super::Columns,
    ) -> Result<Vec<Object>> {
        super::objects(
            self.runner,
            self.ctx(),
            self.namespace,
            kinds,
            selector,
            columns,
        )
    }

    /// The namespace itself, or `None` when it does not exist.
    pub fn namespace_object(&self) -> Result<Option<Object>> {
        super::namespace(self.runner, self.ctx(), self.namespace)
    }

    /// Server-side apply of one document, sent on stdin; `what` names it in the hint.
    pub fn apply(&self, doc: &str, what: &str) -> Result<String> {
        super::apply_stdin(self.runner, self.ctx(), doc, what)
    }

    pub fn delete(&self, refs: &[String], wait: bool) -> Result<()> {
        super::delete(self.runner, self.ctx(), self.namespace, refs, wait)
    }

    /// Deletes the namespace of this handle (and everything in it).
    pub fn delete_namespace(&self) -> Result<()> {
        super::delete_namespace(self.runner, self.ctx(), self.namespace)
    }

    pub fn rollout_status(&self, reference: &str, wait: Duration) -> Result<Option<String>> {
        super::rollout_status(self.runner, self.ctx(), self.namespace, reference, wait)
    }

    pub fn rollout_restart(&self, reference: &str) -> Result<()> {
        super::rollout_restart(self.runner, self.ctx(), self.namespace, reference)
    }

    pub fn previous_logs(&self, pod: &str, container: &str, tail: u32) -> Result<String> {
        super::previous_logs(
            self.runner,
            self.ctx(),
            self.namespace,
            pod,
            container,
            tail,
        )
    }

    /// Events of the namespace (about the object `name` only, when given).
    pub fn events(&self, name: Option<&str>) -> Result<Vec<Event>> {
        super::events(self.runner, self.ctx(), self.namespace, name)
    }

    /// The log lines of `q` (not following).
    pub fn logs(&self, q: &LogsQuery) -> Result<String> {
        super::logs(self.runner, self.ctx(), self.namespace, q)
    }

    /// `kubectl logs --follow` of `q`, supervised; its stdout lines are to be taken
    /// ([`Supervised::take_lines`]).
    pub fn follow_logs(&self, name: &str, q: &LogsQuery) -> Result<Supervised> {
        let q = LogsQuery {
            follow: true,
            ..q.clone()
        };
        let args = super::logs_args(self.ctx(), self.namespace, &q);
        self.runner
            .start(name, &Call::new("kubectl").args(args), Streams::Lines)
    }

    /// `kubectl port-forward service/NAME :PORT` on 127.0.0.1, supervised: returns the process
    /// (stopped when dropped) and the local port kubectl chose, once it printed its
    /// "Forwarding from" line (within `ready`).
    pub fn port_forward(
        &self,
        service: &str,
        port: u16,
        ready: Duration,
    ) -> Result<(Supervised, u16)> {
        self.port_forward_on(service, 0, port, ready)
    }

    /// `kubectl port-forward service/NAME LOCAL:REMOTE` on 127.0.0.1 (`local` 0: any port),
    /// supervised; returns it and the local port once kubectl said it forwards (within `ready`).
    pub fn port_forward_on(
        &self,
        service: &str,
        local: u16,
        remote: u16,
        ready: Duration,
    ) -> Result<(Supervised, u16)> {
        let args =
            workloads::port_forward_args_on(self.ctx(), self.namespace, service, local, remote);
        let mut pf = self.runner.start(
            &format!("port-forward to {service}"),
            &Call::new("kubectl").args(args),
            Streams::Lines,
        )?;
        let port = pf.wait_line(ready, workloads::parse_forwarding)?;
        Ok((pf, port))
    }
}
