//! kubectl calls for the end-to-end and report stages: the workloads' containers with their
//! resources, and the arguments and output of `kubectl port-forward`.

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::run::{Call, Runner};
use crate::tools::parse_json;

fn kubectl(context: Option<&str>) -> Call {
    let c = Call::new("kubectl");
    match context {
        Some(ctx) => c.args(["--context", ctx]),
        None => c,
    }
}

/// One container of a Deployment or StatefulSet, with its image and resources.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Container {
    pub workload: String,
    pub container: String,
    pub image: String,
    pub requests: String,
    pub limits: String,
}

/// The containers of every Deployment and StatefulSet in `namespace`.
pub fn containers(r: &Runner, context: Option<&str>, namespace: &str) -> Result<Vec<Container>> {
    let out = r.run(
        &kubectl(context)
            .args([
                "get",
                "deployments,statefulsets",
                "--namespace",
                namespace,
                "-o",
                "json",
            ])
            .timeout(Duration::from_secs(30)),
    )?;
    parse_containers(&out.stdout)
}

pub fn parse_containers(text: &str) -> Result<Vec<Container>> {
    #[derive(Deserialize, Default)]
    struct Res {
        #[serde(default)]
        requests: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        limits: std::collections::BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    struct C {
        name: String,
        #[serde(default)]
        image: String,
        #[serde(default)]
        resources: Res,
    }
    #[derive(Deserialize, Default)]
    struct PodSpec {
        #[serde(default)]
        containers: Vec<C>,
    }
    #[derive(Deserialize, Default)]
    struct Template {
        #[serde(default)]
        spec: PodSpec,
    }
    #[derive(Deserialize, Default)]
    struct Spec {
        #[serde(default)]
        template: Template,
    }
    #[derive(Deserialize)]
    struct Meta {
        name: String,
    }
    #[derive(Deserialize)]
    struct W {
        #[serde(default)]
        kind: String,
        metadata: Meta,
        #[serde(default)]
        spec: Spec,
    }
    #[derive(Deserialize)]
    struct List {
        items: Vec<W>,
    }
    let fmt = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let list: List = parse_json("kubectl get deployments,statefulsets", text)?;
    Ok(list
        .items
        .into_iter()
        .flat_map(|w| {
            let workload = format!("{}/{}", w.kind.to_ascii_lowercase(), w.metadata.name);
            w.spec
                .template
                .spec
                .containers
                .into_iter()
                .map(move |c| Container {
                    workload: workload.clone(),
                    container: c.name,
                    image: c.image,
                    requests: fmt(&c.resources.requests),
                    limits: fmt(&c.resources.limits),
                })
        })
        .collect())
}

/// `kubectl port-forward service/NAME LOCAL:PORT` on 127.0.0.1; `local` 0 lets kubectl pick.
pub fn port_forward_args_on(
    context: Option<&str>,
    namespace: &str,
    service: &str,
    local: u16,
    port: u16,
) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(c) = context {
        args.extend(["--context".to_string(), c.to_string()]);
    }
    args.extend([
        "port-forward".to_string(),
        "--namespace".to_string(),
        namespace.to_string(),
        "--address".to_string(),
        "127.0.0.1".to_string(),
        format!("service/{service}"),
        if local == 0 {
            format!(":{port}")
        } else {
            format!("{local}:{port}")
        },
    ]);
    args
}

/// The local port from `Forwarding from 127.0.0.1:PORT -> 8000`.
pub fn parse_forwarding(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("Forwarding from 127.0.0.1:")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The first URL `minikube service NAME --url` printed.
pub fn parse_service_url(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("http://") || l.starts_with("https://"))
        .map(str::to_string)
}

/// Ready and total endpoints behind Service `service` (from its EndpointSlices; an absent
/// `ready` condition counts as ready, as the API defines).
pub fn service_endpoints(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    service: &str,
) -> Result<(usize, usize)> {
    let out = r.run(
        &kubectl(context)
            .args(["get", "endpointslices", "--namespace", namespace])
            .arg(format!("--selector=kubernetes.io/service-name={service}"))
            .args(["-o", "json"])
            .timeout(Duration::from_secs(30)),
    )?;
    count_endpoints(&out.stdout, service)
}

pub fn count_endpoints(text: &str, service: &str) -> Result<(usize, usize)> {
    #[derive(Deserialize, Default)]
    struct Conditions {
        ready: Option<bool>,
    }
    #[derive(Deserialize)]
    struct Endpoint {
        #[serde(default)]
        conditions: Conditions,
    }
    #[derive(Deserialize, Default)]
    struct Meta {
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    struct Slice {
        #[serde(default)]
        metadata: Meta,
        #[serde(default)]
        endpoints: Option<Vec<Endpoint>>,
    }
    #[derive(Deserialize)]
    struct List {
        items: Vec<Slice>,
    }
    let list: List = parse_json("kubectl get endpointslices", text)?;
    let all: Vec<Endpoint> = list
        .items
        .into_iter()
        .filter(|s| {
            s.metadata
                .labels
                .get("kubernetes.io/service-name")
                .is_none_or(|n| n == service)
        })
        .flat_map(|s| s.endpoints.unwrap_or_default())
        .collect();
    let ready = all
        .iter()
        .filter(|e| e.conditions.ready.unwrap_or(true))
        .count();
    Ok((ready, all.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_lines() {
        assert_eq!(
            parse_forwarding("Forwarding from 127.0.0.1:43127 -> 8000"),
            Some(43127)
        );
        assert_eq!(
            parse_forwarding("Forwarding from [::1]:43127 -> 8000"),
            None
        );
        assert_eq!(
            parse_service_url("http://192.168.49.2:31234\n"),
            Some("http://192.168.49.2:31234".into())
        );
    }

    #[test]
    fn endpoints_counted_per_service() {
        let text = r#"{"items":[{"metadata":{"labels":{"kubernetes.io/service-name":"b"}},"endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true}},{"addresses":["10.0.0.2"],"conditions":{"ready":false}}]},{"metadata":{"labels":{"kubernetes.io/service-name":"other"}},"endpoints":[{"addresses":["10.0.0.3"]}]}]}"#;
        assert_eq!(count_endpoints(text, "b").expect("parses"), (1, 2));
        assert_eq!(count_endpoints(text, "other").expect("parses"), (1, 1));
    }

    #[test]
    fn containers_with_resources() {
        let c = parse_containers(r#"{"items":[{"kind":"Deployment","metadata":{"name":"b"},"spec":{"template":{"spec":{"containers":[{"name":"backend","image":"todo-backend:abc","resources":{"requests":{"cpu":"50m","memory":"32Mi"},"limits":{"memory":"128Mi"}}}]}}}}]}"#).expect("parses");
        assert_eq!(c[0].workload, "deployment/b");
        assert_eq!(c[0].requests, "cpu=50m,memory=32Mi");
        assert_eq!(c[0].limits, "memory=128Mi");
    }
}
