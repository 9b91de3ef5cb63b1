# shellcheck shell=bash
# The fake kubectl's answers for what `aiops` asks (sourced by kubectl; `aiops_kubectl ARGS`
# returns 2 when the command is not one of these):
#   create token SA -n NS --duration D   a token on stdout (the ServiceAccount must exist in the
#                                         object store); kube/tokens/<token> records its user
#   config view --minify --flatten -o jsonpath={.clusters[0].cluster}
#                                         the current context's cluster entry as JSON
#   api-resources --api-group=kagent.dev --no-headers
#                                         kagent's kinds once the fake kagent is installed
#                                         (knob kube/api-resources-kagent.dev replaces the rows)
#   api-versions                          the served group/versions (knob kube/api-versions)
#   get remotemcpservers.kagent.dev NAME -n NS -o json
#                                         discoveredTools: the five task tools once applied
#                                         (knob kagent/discovered-tools: one name per line)
#   get agents.kagent.dev NAME -n NS -o json
#                                         Ready True once applied (knob kagent/agent-ready:
#                                         `False REASON MESSAGE...`)

kagent_applied() {
  [ -f "$STATE/kagent/installed" ] && [ -f "$objects/$1/$2/$3.json" ]
}

aiops_kubectl() {
  local ns name
  ns=$(ns_of "$@")
  case "${1:-} ${2:-}" in
    "create token")
      reachable || refused
      name=${3:-}
      [ -f "$objects/$ns/serviceaccount/$name.json" ] || {
        echo "error: failed to create token: serviceaccounts \"$name\" not found" >&2
        return 1
      }
      local token
      token="eyJhbGciOiJSUzI1NiIsImtpZCI6ImZha2UifQ.$(printf '%s' "$ns/$name/$RANDOM$RANDOM" | sha256sum | cut -c1-40).c2lnbmF0dXJl"
      mkdir -p "$STATE/kube/tokens"
      echo "system:serviceaccount:$ns:$name" >"$STATE/kube/tokens/$token"
      echo "$token"
      return 0
      ;;
    "config view")
      [ -n "$context" ] || { echo "error: current-context is not set" >&2; return 1; }
      [ -f "$STATE/kube/contexts/$context" ] || { echo "error: context \"$context\" does not exist" >&2; return 1; }
      printf '{"certificate-authority-data":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmZha2UKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=","extensions":[{"extension":{"provider":"minikube.sigs.k8s.io"},"name":"cluster_info"}],"server":"https://192.168.49.2:8443"}'
      return 0
      ;;
    "api-resources "*)
      reachable || refused
      case " $* " in *" --api-group=kagent.dev "*) ;; *) return 0 ;; esac
      if [ -f "$STATE/kube/api-resources-kagent.dev" ]; then
        cat "$STATE/kube/api-resources-kagent.dev"
      elif [ -f "$STATE/kagent/installed" ]; then
        printf 'agents                                          kagent.dev/v1alpha2          true         Agent\n'
        printf 'modelconfigs                                    kagent.dev/v1alpha2          true         ModelConfig\n'
        printf 'remotemcpservers                rmcps           kagent.dev/v1alpha2          true         RemoteMCPServer\n'
        printf 'toolservers                                     kagent.dev/v1alpha1          true         ToolServer\n'
      fi
      return 0
      ;;
    "api-versions "*)
      reachable || refused
      if [ -f "$STATE/kube/api-versions" ]; then cat "$STATE/kube/api-versions"; return 0; fi
      printf 'apps/v1\nv1\n'
      [ -f "$STATE/kagent/installed" ] && printf 'kagent.dev/v1alpha1\nkagent.dev/v1alpha2\n'
      return 0
      ;;
    "get remotemcpservers.kagent.dev")
      reachable || refused
      name=${3:-}
      kagent_applied "$ns" remotemcpserver "$name" || {
        echo "Error from server (NotFound): remotemcpservers.kagent.dev \"$name\" not found" >&2
        return 1
      }
      local tools="add_task list_tasks complete_task delete_task update_task" first=1 t
      [ -f "$STATE/kagent/discovered-tools" ] && tools=$(cat "$STATE/kagent/discovered-tools")
      printf '{"apiVersion":"kagent.dev/v1alpha2","kind":"RemoteMCPServer","metadata":{"name":"%s","namespace":"%s"},"spec":{"description":"d","protocol":"STREAMABLE_HTTP","url":"http://x/mcp"},"status":{"conditions":[{"type":"Accepted","status":"True","reason":"Reconciled","message":""}],"discoveredTools":[' "$name" "$ns"
      for t in $tools; do
        [ $first = 1 ] || printf ','
        first=0
        printf '{"name":"%s","description":"The %s tool"}' "$t" "$t"
      done
      printf '],"observedGeneration":1}}\n'
      return 0
      ;;
    "get agents.kagent.dev")
      reachable || refused
      name=${3:-}
      kagent_applied "$ns" agent "$name" || {
        echo "Error from server (NotFound): agents.kagent.dev \"$name\" not found" >&2
        return 1
      }
      local status=True reason=DeploymentReady message="Deployment is ready"
      if [ -f "$STATE/kagent/agent-ready" ]; then
        read -r status reason message <"$STATE/kagent/agent-ready"
      fi
      printf '{"apiVersion":"kagent.dev/v1alpha2","kind":"Agent","metadata":{"name":"%s","namespace":"%s"},"status":{"conditions":[{"type":"Accepted","status":"True","reason":"AgentReconciled","message":""},{"type":"Ready","status":"%s","reason":"%s","message":"%s"}],"observedGeneration":1}}\n' \
        "$name" "$ns" "$status" "$reason" "$message"
      return 0
      ;;
  esac
  return 2
}
