//! Every parser of tool output reads Windows line ends (`\r\n`) as it reads `\n`: each is run on
//! output in both forms and must give the same answer.

use super::ai::{kagent, kubectl_ai};
use super::kubectl::{self, workloads};
use super::{helm, minikube};

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// `parse` gives the same (Debug-printed) answer for `text` with LF and with CRLF line ends.
#[track_caller]
fn same<T: std::fmt::Debug>(text: &str, parse: impl Fn(&str) -> T) {
    let lf = format!("{:?}", parse(text));
    let windows = format!("{:?}", parse(&crlf(text)));
    assert_eq!(lf, windows, "LF and CRLF differ for {text:?}");
}

const PODS: &str = "{\n  \"items\": [\n    {\n      \"metadata\": {\"name\": \"b-1\"},\n      \"status\": {\n        \"phase\": \"Running\",\n        \"containerStatuses\": [{\"name\": \"backend\", \"ready\": true, \"restartCount\": 0, \"state\": {\"running\": {}}}]\n      }\n    }\n  ]\n}\n";

#[test]
fn kubectl_parsers() {
    same(PODS, |t| kubectl::parse_pods(t).map_err(|e| e.to_string()));
    let pods = kubectl::parse_pods(&crlf(PODS)).expect("parses");
    assert_eq!(pods[0].phase, "Running");
    let columns = "Secret   todo-chatbot-secrets   todo-chatbot-xtask   abc123   0f0f\nService   todo-chatbot-backend   kubectl   <none>   <none>\n";
    let spec = kubectl::Columns {
        labels: &["app.kubernetes.io/managed-by"],
        annotations: &["example.dev/hash", "example.dev/token"],
    };
    same(columns, |t| spec.parse(t));
    let objs = spec.parse(&crlf(columns));
    assert_eq!(objs[1].kind, "Service");
    assert!(objs[1].annotations.is_empty(), "{objs:?}");
    same(
        "Forwarding from 127.0.0.1:43127 -> 8000\n",
        workloads::parse_forwarding,
    );
    assert_eq!(
        workloads::parse_forwarding("Forwarding from 127.0.0.1:43127 -> 8000\r"),
        Some(43127)
    );
    same(
        "😿  service has no node port\nhttp://192.168.49.2:31234\n",
        workloads::parse_service_url,
    );
    assert_eq!(
        workloads::parse_service_url(&crlf("http://192.168.49.2:31234\n")).as_deref(),
        Some("http://192.168.49.2:31234")
    );
    same(
        "{\n \"clientVersion\": {\n  \"gitVersion\": \"v1.33.1\"\n }\n}\n",
        |t| kubectl::parse_client_version(t).map_err(|e| e.to_string()),
    );
}

#[test]
fn minikube_parsers() {
    let env = "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://127.0.0.1:32842\"\n\n# To point your shell to minikube's docker-daemon, run:\n# eval $(minikube -p demo docker-env --shell bash)\n";
    same(env, minikube::parse_docker_env);
    let vars = minikube::parse_docker_env(&crlf(env));
    assert_eq!(vars[1].1, "tcp://127.0.0.1:32842");
    let status = "{\"Name\":\"demo\",\"Host\":\"Running\",\"Kubelet\":\"Running\",\"APIServer\":\"Running\",\"Kubeconfig\":\"Configured\",\"Worker\":false}\n";
    same(status, |t| {
        minikube::parse_status(0, t).map_err(|e| e.to_string())
    });
    same("{\"metrics-server\":{\"Status\":\"enabled\"}}\n", |t| {
        minikube::parse_addons(t).map_err(|e| e.to_string())
    });
}

#[test]
fn helm_and_ai_parsers() {
    same("v3.18.4+gd80839c\n", |t| {
        helm::parse_version(t).map_err(|e| e.to_string())
    });
    same(
        "version: 0.0.29\ncommit: abc\n",
        kubectl_ai::parse_kubectl_ai_version,
    );
    let kagent = "{\"backend_version\":\"0.6.3\",\"build_date\":\"x\",\"git_commit\":\"y\",\"kagent_version\":\"0.6.3\"}\n";
    same(kagent, |t| {
        kagent::parse_kagent_version(t).map_err(|e| e.to_string())
    });
    same(kagent, kagent::parse_kagent_backend);
    let api = "NAME     SHORTNAMES   APIVERSION                 NAMESPACED   KIND\nagents                kagent.dev/v1alpha2        true         Agent\n";
    same(api, kagent::parse_api_resources);
}

#[test]
fn dotenv_reads_windows_line_ends() {
    let text = "# comment\nOPENAI_API_KEY=sk-1\nexport AUTH_SECRET=\"s p\"\n";
    same(text, |t| {
        crate::config::parse_dotenv(t, std::path::Path::new(".env")).map_err(|e| e.to_string())
    });
    let m = crate::config::parse_dotenv(&crlf(text), std::path::Path::new(".env")).expect("ok");
    assert_eq!(m["AUTH_SECRET"], "s p");
}
