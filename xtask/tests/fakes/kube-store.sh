# shellcheck shell=bash
# The fake cluster's objects, shared by the fake kubectl and helm: one JSON file per object,
# $FAKE_STATE/kube/objects/<namespace>/<kind>/<name>.json (Namespaces under `_`). Only the
# fields the xtask reads are kept: kind, name, namespace, the managed-by label and the
# todo-chatbot.dev/config-hash and todo-chatbot.dev/rollout-token annotations.

objects="$STATE/kube/objects"

# kind_of WORD: the lower-case singular kind of a resource word (deployments, svc, ...).
kind_of() {
  case ${1,,} in
    deploy | deployment | deployments | deployment.apps) echo deployment ;;
    sts | statefulset | statefulsets | statefulset.apps) echo statefulset ;;
    svc | service | services) echo service ;;
    cm | configmap | configmaps) echo configmap ;;
    secret | secrets) echo secret ;;
    pvc | persistentvolumeclaim | persistentvolumeclaims) echo persistentvolumeclaim ;;
    netpol | networkpolicy | networkpolicies | networkpolicy.networking.k8s.io) echo networkpolicy ;;
    ns | namespace | namespaces) echo namespace ;;
    sa | serviceaccount | serviceaccounts) echo serviceaccount ;;
    rolebinding | rolebindings | rolebinding.rbac.authorization.k8s.io) echo rolebinding ;;
    *) echo "${1,,}" ;;
  esac
}

# group_of KIND: what kubectl prints before the name (deployment.apps, service, ...).
group_of() {
  case $1 in
    deployment | statefulset) echo "$1.apps" ;;
    networkpolicy) echo "$1.networking.k8s.io" ;;
    *) echo "$1" ;;
  esac
}

# Kind names as the API spells them.
api_kind() {
  case $1 in
    deployment) echo Deployment ;;
    statefulset) echo StatefulSet ;;
    service) echo Service ;;
    configmap) echo ConfigMap ;;
    secret) echo Secret ;;
    persistentvolumeclaim) echo PersistentVolumeClaim ;;
    networkpolicy) echo NetworkPolicy ;;
    namespace) echo Namespace ;;
    serviceaccount) echo ServiceAccount ;;
    rolebinding) echo RoleBinding ;;
    *) echo "$1" ;;
  esac
}

# store_object KIND NAME NAMESPACE MANAGED_BY HASH [TOKEN]
store_object() {
  local kind=$1 name=$2 ns=${3:-_} mb=$4 hash=$5 token=${6:-} ann=""
  [ -n "$hash" ] && ann="\"todo-chatbot.dev/config-hash\":\"$hash\""
  [ -n "$token" ] && ann="${ann:+$ann,}\"todo-chatbot.dev/rollout-token\":\"$token\""
  mkdir -p "$objects/$ns/$kind"
  printf '{"apiVersion":"v1","kind":"%s","metadata":{"name":"%s","namespace":"%s","labels":{"app.kubernetes.io/name":"todo-chatbot","app.kubernetes.io/managed-by":"%s"},"annotations":{%s}}}' \
    "$(api_kind "$kind")" "$name" "$ns" "$mb" "$ann" >"$objects/$ns/$kind/$name.json"
}

namespace_exists() { [ -f "$objects/_/namespace/$1.json" ]; }

# apply_docs FILE: `kubectl apply -f -` of the YAML stream in FILE.
apply_docs() {
  local file=$1 doc="" line
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "$line" = "---" ]; then
      apply_one "$doc" || return 1
      doc=""
    else
      doc+="$line"$'\n'
    fi
  done <"$file"
  apply_one "$doc"
}

yaml_value() { printf '%s' "$1" | grep -m1 "$2" | sed "s/^[^:]*: *//; s/^\"//; s/\"\$//"; }

apply_one() {
  local doc=$1 kind name ns mb hash token
  kind=$(yaml_value "$doc" '^kind:')
  [ -n "$kind" ] || return 0
  kind=$(kind_of "$kind")
  name=$(yaml_value "$doc" '^  name:')
  ns=$(yaml_value "$doc" '^  namespace:')
  mb=$(yaml_value "$doc" 'app.kubernetes.io/managed-by:')
  hash=$(yaml_value "$doc" 'todo-chatbot.dev/config-hash:')
  token=$(yaml_value "$doc" 'todo-chatbot.dev/rollout-token:')
  if [ "$kind" = namespace ]; then
    ns=_
  elif ! namespace_exists "$ns"; then
    echo "Error from server (NotFound): error when creating \"STDIN\": namespaces \"$ns\" not found" >&2
    return 1
  fi
  store_object "$kind" "$name" "$ns" "$mb" "$hash" "$token"
  if [ "$kind" = statefulset ]; then
    store_object persistentvolumeclaim "data-$name-0" "$ns" "" ""
  fi
  echo "$(group_of "$kind")/$name serverside-applied"
}

# list_objects NS KIND[,KIND...]: a List of the stored objects.
list_objects() {
  local ns=$1 kinds=$2 first=1 k f
  printf '{"apiVersion":"v1","kind":"List","items":['
  for k in ${kinds//,/ }; do
    k=$(kind_of "$k")
    for f in "$objects/$ns/$k"/*.json; do
      [ -f "$f" ] || continue
      [ $first = 1 ] || printf ','
      first=0
      cat "$f"
    done
  done
  printf '],"metadata":{"resourceVersion":""}}\n'
}

# delete_refs NS IGNORE_NOT_FOUND REF...: remove objects given as kind/name.
delete_refs() {
  local ns=$1 ignore=$2 ref kind name
  shift 2
  for ref in "$@"; do
    kind=$(kind_of "${ref%%/*}")
    name=${ref#*/}
    if [ -f "$objects/$ns/$kind/$name.json" ]; then
      rm -f "$objects/$ns/$kind/$name.json"
      echo "$(group_of "$kind") \"$name\" deleted"
    elif [ "$ignore" != 1 ]; then
      echo "Error from server (NotFound): $kind \"$name\" not found" >&2
      return 1
    fi
  done
}

# delete_managed NS MANAGED_BY [KEPT_KIND]: remove every object with that managed-by label (helm
# uninstall), but those of KEPT_KIND (helm.sh/resource-policy: keep).
delete_managed() {
  local f
  for f in "$objects/$1"/*/*.json; do
    [ -f "$f" ] || continue
    [ -n "${3:-}" ] && [ "$(basename "$(dirname "$f")")" = "$3" ] && continue
    grep -q "\"app.kubernetes.io/managed-by\":\"$2\"" "$f" && rm -f "$f"
  done
  return 0
}

# column_objects NS KIND[,KIND...]: `--no-headers --output=custom-columns=` of kind, name,
# managed-by, config-hash and rollout-token (`<none>` when absent), as the xtask asks for them.
column_objects() {
  local ns=$1 kinds=$2 k f kind name mb hash token
  for k in ${kinds//,/ }; do
    k=$(kind_of "$k")
    for f in "$objects/$ns/$k"/*.json; do
      [ -f "$f" ] || continue
      kind=$(sed -n 's/^{"apiVersion":"[^"]*","kind":"\([^"]*\)".*/\1/p' "$f")
      name=$(sed -n 's/.*"metadata":{"name":"\([^"]*\)".*/\1/p' "$f")
      mb=$(sed -n 's/.*"app.kubernetes.io\/managed-by":"\([^"]*\)".*/\1/p' "$f")
      hash=$(sed -n 's/.*"todo-chatbot.dev\/config-hash":"\([^"]*\)".*/\1/p' "$f")
      token=$(sed -n 's/.*"todo-chatbot.dev\/rollout-token":"\([^"]*\)".*/\1/p' "$f")
      printf '%s   %s   %s   %s   %s\n' "$kind" "$name" "${mb:-<none>}" "${hash:-<none>}" "${token:-<none>}"
    done
  done
}
