//! Every validation rejection, with Istio's message, and the specs that must stay valid.

use super::{load, load_ok};

fn pa(spec: &str) -> String {
    format!("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: p\n  namespace: foo\nspec:\n{spec}")
}

fn ap(spec: &str) -> String {
    format!("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n  namespace: foo\nspec:\n{spec}")
}

fn dr(spec: &str) -> String {
    format!("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: d\n  namespace: foo\nspec:\n{spec}")
}

/// (case, YAML, expected message fragment, expected file line).
type Case = (&'static str, String, &'static str, usize);

fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for (name, text, needle, line) in cases {
        let err = match load(&text) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        if !err.message.contains(needle) {
            failures.push(format!("{name}: expected {needle:?} in: {err}"));
        }
        if err.origin.line != line {
            failures.push(format!("{name}: expected line {line} in: {err}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn peer_authentication_rejections_use_istio_messages() {
    check(vec![
        (
            "port level mtls without selector",
            pa("  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n"),
            "mesh/namespace peer authentication cannot have port level mTLS",
            8,
        ),
        (
            "port level mtls with empty selector",
            pa("  selector: {matchLabels: {}}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n"),
            "mesh/namespace peer authentication cannot have port level mTLS",
            8,
        ),
        (
            "empty port level map",
            pa("  selector: {matchLabels: {app: a}}\n  portLevelMtls: {}\n"),
            "port level mTLS, if defined, must have at least one element",
            8,
        ),
        (
            "port zero",
            pa("  selector: {matchLabels: {app: a}}\n  portLevelMtls:\n    0: {mode: DISABLE}\n"),
            "port must be in range 1..65535",
            9,
        ),
        (
            "port too large",
            pa("  selector: {matchLabels: {app: a}}\n  portLevelMtls:\n    70000: {mode: DISABLE}\n"),
            "port must be in range 1..65535",
            9,
        ),
        (
            "port not a number",
            pa("  selector: {matchLabels: {app: a}}\n  portLevelMtls:\n    http: {mode: DISABLE}\n"),
            "port must be in range 1..65535",
            8,
        ),
        ("bad mode lists valid names", pa("  mtls:\n    mode: strict\n"), "expected one of `UNSET`, `DISABLE`, `PERMISSIVE`, `STRICT`", 8),
        (
            "bad port mode",
            pa("  selector: {matchLabels: {app: a}}\n  portLevelMtls:\n    80:\n      mode: OFF\n"),
            "`STRICT`",
            10,
        ),
        ("wildcard selector", pa("  selector:\n    matchLabels: {app: '*'}\n"), "wildcard is not supported in selector", 8),
    ]);
}

#[test]
fn valid_peer_authentications_load() {
    for spec in [
        "  mtls: {mode: STRICT}\n",
        "  {}\n",
        "  selector: {matchLabels: {app: a}}\n  mtls: {mode: PERMISSIVE}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n    9090: {}\n",
        "  mtls: {}\n",
    ] {
        load_ok(&pa(spec));
    }
}

#[test]
fn authorization_policy_rejections_use_istio_messages() {
    check(vec![
        ("empty from", ap("  rules:\n  - from: []\n"), "`from` must not be empty, found at rule 0", 8),
        ("empty to", ap("  rules:\n  - to: []\n"), "`to` must not be empty, found at rule 0", 8),
        ("null from", ap("  rules:\n  - from:\n"), "spec.rules[0].from: must not be null", 8),
        ("null rule", ap("  rules:\n  -\n"), "spec.rules[0]: must not be null", 8),
        ("source missing", ap("  rules:\n  - from:\n    - {}\n"), "`from.source` must not be nil, found at rule 0", 9),
        ("source null", ap("  rules:\n  - from:\n    - source:\n"), "spec.rules[0].from[0].source: must not be null", 9),
        ("source empty", ap("  rules:\n  - from:\n    - source: {}\n"), "`from.source` must not be empty, found at rule 0", 9),
        (
            "source only empty lists",
            ap("  rules:\n  - from:\n    - source:\n        principals: []\n"),
            "`from.source` must not be empty",
            9,
        ),
        ("operation missing", ap("  rules:\n  - to:\n    - {}\n"), "`to.operation` must not be nil, found at rule 0", 9),
        ("operation empty", ap("  rules:\n  - to:\n    - operation: {}\n"), "`to.operation` must not be empty, found at rule 0", 9),
        ("condition key empty", ap("  rules:\n  - when:\n    - values: [a]\n"), "`key` must not be empty", 9),
        (
            "condition without values",
            ap("  rules:\n  - when:\n    - key: source.namespace\n"),
            "at least one of `values` or `notValues` must be set for key source.namespace",
            9,
        ),
        (
            "condition values empty",
            ap("  rules:\n  - when:\n    - key: source.namespace\n      values: []\n"),
            "at least one of `values` or `notValues` must be set",
            9,
        ),
        (
            "condition values null",
            ap("  rules:\n  - when:\n    - key: source.namespace\n      values:\n"),
            "spec.rules[0].when[0].values: must not be null",
            10,
        ),
        (
            "condition unknown key",
            ap("  rules:\n  - when:\n    - key: source.team\n      values: [a]\n"),
            "unknown attribute: source.team",
            10,
        ),
        (
            "condition replaced key",
            ap("  rules:\n  - when:\n    - key: destination.namespace\n      values: [a]\n"),
            "attribute destination.namespace is replaced by the metadata.namespace",
            10,
        ),
        (
            "condition bad header key",
            ap("  rules:\n  - when:\n    - key: request.headers\n      values: [a]\n"),
            "bad key (request.headers): should have format a[b]",
            10,
        ),
        (
            "condition bad ip",
            ap("  rules:\n  - when:\n    - key: source.ip\n      notValues: [10.0.0.300]\n"),
            "invalid `notValue` for `key` source.ip: bad IP address (10.0.0.300)",
            10,
        ),
        (
            "condition bad port",
            ap("  rules:\n  - when:\n    - key: destination.port\n      values: ['http']\n"),
            "bad port (http)",
            10,
        ),
        ("custom without provider", ap("  action: CUSTOM\n  rules: [{}]\n"), "`provider.name` must not be empty", 6),
        (
            "custom without rules",
            ap("  action: CUSTOM\n  provider: {name: ext}\n"),
            "CUSTOM action without `rules` is meaningless",
            6,
        ),
        (
            "custom with principals",
            ap("  action: CUSTOM\n  provider: {name: ext}\n  rules:\n  - from:\n    - source: {principals: [a]}\n"),
            "From.Principals is currently not supported with CUSTOM action",
            11,
        ),
        (
            "provider with allow",
            ap("  action: ALLOW\n  provider:\n    name: ext\n  rules: [{}]\n"),
            "`provider` must not be with non CUSTOM action, found ALLOW",
            8,
        ),
        ("deny without rules", ap("  action: DENY\n"), "DENY action without `rules` is meaningless", 6),
        (
            "selector and targetRef",
            ap("  selector: {matchLabels: {app: a}}\n  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}\n"),
            "only one of targetRefs or workloadSelector can be set",
            6,
        ),
        (
            "targetRef to a pod",
            ap("  targetRef:\n    kind: Pod\n    name: x\n"),
            "targetRef must be to one of",
            7,
        ),
        (
            "principals with service accounts",
            ap("  rules:\n  - from:\n    - source:\n        principals: [cluster.local/ns/a/sa/b]\n        serviceAccounts: [a/b]\n"),
            "cannot set serviceAccounts with namespaces or principals, found at rule 0",
            9,
        ),
        (
            "service account wildcard",
            ap("  rules:\n  - from:\n    - source:\n        serviceAccounts: ['a/*']\n"),
            "wildcard not allowed, found in ServiceAccounts",
            10,
        ),
        (
            "service account format",
            ap("  rules:\n  - from:\n    - source:\n        serviceAccounts: [a/b/c]\n"),
            "expected format 'serviceAccount' or 'namespace/serviceAccount'",
            10,
        ),
        ("bad ip block", ap("  rules:\n  - from:\n    - source:\n        ipBlocks: [10.0.0.0/33]\n"), "bad CIDR range (10.0.0.0/33)", 10),
        ("bad remote ip", ap("  rules:\n  - from:\n    - source:\n        remoteIpBlocks: [nope]\n"), "bad IP address (nope)", 10),
        ("empty principal", ap("  rules:\n  - from:\n    - source:\n        principals: ['']\n"), "empty value not allowed, found in Principals", 10),
        ("port out of range", ap("  rules:\n  - to:\n    - operation:\n        ports: ['70000']\n"), "bad port (70000)", 10),
        ("port not a number", ap("  rules:\n  - to:\n    - operation:\n        notPorts: ['-1']\n"), "bad port (-1)", 10),
        (
            "path template not last",
            ap("  rules:\n  - to:\n    - operation:\n        paths: ['/a/{**}/b/{*}']\n"),
            "{**} is not the last operator",
            10,
        ),
        (
            "trust domain with slash",
            ap("  rules:\n  - from:\n    - source:\n        trustDomains: [a/b]\n"),
            "trust domain must not contain '/'",
            10,
        ),
        ("bad action", ap("  action: REJECT\n"), "expected one of `ALLOW`, `DENY`, `AUDIT`, `CUSTOM`", 7),
        ("ports as numbers", ap("  rules:\n  - to:\n    - operation:\n        ports: [8080]\n"), "spec.rules[0].to[0].operation.ports[0]: must be of type string", 10),
    ]);
}

#[test]
fn valid_authorization_policies_load_with_istio_warnings() {
    for spec in [
        "  {}\n",
        "  action: ALLOW\n  rules: [{}]\n",
        "  action: DENY\n  rules: [{}]\n",
        "  action: AUDIT\n  rules: [{}]\n",
        "  action: CUSTOM\n  provider: {name: ext}\n  rules: [{to: [{operation: {paths: [/admin]}}]}]\n",
        "  rules:\n  - from:\n    - source:\n        namespaces: []\n        notNamespaces: [default]\n",
        "  rules:\n  - when: []\n",
        "  rules:\n  - from:\n    - source: {serviceAccounts: [foo/sleep, sleep], ipBlocks: [10.0.0.0/8, '::1']}\n    to:\n    - operation: {ports: ['8080'], methods: [GET], paths: ['/api/{*}/items/{**}']}\n    when:\n    - {key: 'request.headers[x-token]', values: [abc]}\n    - {key: source.principal, notValues: ['*']}\n",
        "  targetRefs:\n  - {kind: Service, group: '', name: httpbin}\n  rules: [{}]\n",
    ] {
        load_ok(&ap(spec));
    }
    let res = load_ok(&ap(
        "  action: DENY\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n",
    ));
    assert!(
        res.warnings
            .iter()
            .any(|w| w.message.contains("deny all traffic to TCP ports")),
        "{:?}",
        res.warnings
    );
    let res = load_ok(&ap("  action: DENY\n  rules: []\n"));
    assert!(
        res.warnings
            .iter()
            .any(|w| w.message.contains("never matches")),
        "{:?}",
        res.warnings
    );
    let res = load_ok(&ap("  selector: {matchLabels: {}}\n"));
    assert!(res.warnings.iter().any(|w| w
        .message
        .contains("workload selector specified without labels")));
}

#[test]
fn destination_rule_rejections_use_istio_messages() {
    check(vec![
        ("empty host", dr("  host: ''\n"), "empty domain name not allowed", 7),
        ("missing host", dr("  subsets: [{name: v1}]\n"), "empty domain name not allowed", 6),
        ("bad host", dr("  host: Reviews_svc\n"), "invalid (label \"Reviews_svc\" invalid)", 7),
        ("numeric tld", dr("  host: reviews.123\n"), "cannot be all-numeric", 7),
        ("duplicate subsets", dr("  host: r\n  subsets:\n  - name: v1\n  - name: v1\n"), "duplicate subset names: v1", 10),
        ("empty subset name", dr("  host: r\n  subsets:\n  - labels: {version: v1}\n"), "subset name cannot be empty", 9),
        ("invalid subset name", dr("  host: r\n  subsets:\n  - name: V1_x\n"), "subset name is invalid: V1_x", 9),
        ("bad subset label", dr("  host: r\n  subsets:\n  - name: v1\n    labels: {version: '-v1'}\n"), "invalid tag value: \"-v1\"", 10),
        ("wildcard in the middle of a host", dr("  host: 'a.*.com'\n"), "invalid (label \"*\" invalid)", 7),
        ("empty traffic policy", dr("  host: r\n  trafficPolicy: {}\n"), "traffic policy must have at least one field", 8),
        (
            "port setting without port",
            dr("  host: r\n  trafficPolicy:\n    portLevelSettings:\n    - tls: {mode: ISTIO_MUTUAL}\n"),
            "portTrafficPolicy must have valid port",
            10,
        ),
        (
            "empty port setting",
            dr("  host: r\n  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 80}\n"),
            "port traffic policy must have at least one field",
            10,
        ),
        (
            "mutual without certs",
            dr("  host: r\n  trafficPolicy:\n    tls:\n      mode: MUTUAL\n"),
            "client certificate required for mutual tls",
            9,
        ),
        (
            "credential name with files",
            dr("  host: r\n  trafficPolicy:\n    tls: {mode: SIMPLE, credentialName: c, caCertificates: /ca.pem}\n"),
            "cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
            9,
        ),
        (
            "empty connection pool",
            dr("  host: r\n  trafficPolicy:\n    connectionPool: {}\n"),
            "connection pool must have at least one field",
            9,
        ),
        (
            "bad connect timeout",
            dr("  host: r\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        connectTimeout: 0s\n"),
            "duration must be greater than 1ms",
            11,
        ),
        ("bad tls mode", dr("  host: r\n  trafficPolicy:\n    tls: {mode: ISTIO}\n"), "`ISTIO_MUTUAL`", 9),
        ("negative max connections", dr("  host: r\n  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: -1}}\n"), "maxConnections: invalid type: integer `-1`", 9),
        (
            "keepalive without timeout",
            dr("  host: r\n  trafficPolicy:\n    connectionPool:\n      http:\n        http2KeepAlive: {interval: 10s}\n"),
            "http2 keepalive timeout is required",
            11,
        ),
        ("export duplicates", dr("  host: r\n  exportTo: [foo, '.']\n"), "duplicate entries in exportTo: . and current namespace foo", 8),
        ("export star and others", dr("  host: r\n  exportTo: ['*', bar]\n"), "cannot have both public (*) and non-public exportTo values", 8),
        (
            "selector exported beyond namespace",
            dr("  host: r\n  workloadSelector: {matchLabels: {app: a}}\n  exportTo: [bar]\n"),
            "destination rule with workload selector cannot have exportTo beyond current namespace",
            9,
        ),
    ]);
}

#[test]
fn valid_destination_rules_load() {
    for spec in [
        "  host: reviews\n",
        "  host: '*.example.com'\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n",
        "  host: '*'\n",
        "  host: '*-svc.Example.com'\n",
        "  host: reviews.prod.svc.cluster.local\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 1, connectTimeout: 30ms}\n      http: {http1MaxPendingRequests: 1}\n    portLevelSettings:\n    - port: {number: 9080}\n      tls: {mode: DISABLE}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy: {tls: {mode: SIMPLE}}\n  exportTo: ['.']\n",
        "  host: r\n  trafficPolicy:\n    tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}\n",
        "  host: r\n  trafficPolicy:\n    tls: {mode: MUTUAL, credentialName: client-cred}\n",
        "  host: r\n  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n      localityLbSetting: {enabled: null}\n",
    ] {
        load_ok(&dr(spec));
    }
}

fn sc(spec: &str) -> String {
    format!("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s\n  namespace: foo\nspec:\n{spec}")
}

#[test]
fn sidecar_rejections_use_istio_messages() {
    check(vec![
        ("empty", sc("  workloadSelector: {labels: {app: a}}\n"), "sidecar: empty configuration provided", 6),
        ("host without namespace", sc("  egress:\n  - hosts: [httpbin.foo.svc.cluster.local]\n"), "host must be of form namespace/dnsName", 8),
        ("short name", sc("  egress:\n  - hosts: [foo/httpbin]\n"), "short names (non FQDN) are not allowed", 8),
        ("bad namespace", sc("  egress:\n  - hosts: [Foo_x/*]\n"), "invalid namespace value \"Foo_x\" in sidecar", 8),
        ("partial wildcard", sc("  egress:\n  - hosts: ['foo/*x.example.com']\n"), "partial wildcard", 8),
        ("no hosts", sc("  egress:\n  - port: {number: 80}\n"), "egress listener must contain at least one host", 8),
        (
            "catch-all not last",
            sc("  egress:\n  - hosts: ['./*']\n  - port: {number: 80}\n    hosts: ['./*']\n"),
            "the egress listener with empty port should be the last listener in the list",
            8,
        ),
        (
            "duplicate ports",
            sc("  egress:\n  - port: {number: 80}\n    hosts: ['./*']\n  - port: {number: 80}\n    hosts: ['./*']\n"),
            "ports on IP bound listeners must be unique",
            10,
        ),
    ]);
}

#[test]
fn valid_sidecars_load_and_name_what_is_not_modelled() {
    let res = load_ok(&sc(
        "  egress:\n  - hosts: ['./*', 'istio-system/*', '*/*.example.com', '~/*']\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n",
    ));
    assert_eq!(res.sidecars.len(), 1);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    let res = load_ok(&sc(
        "  ingress:\n  - port: {number: 80, protocol: HTTP, name: http}\n  outboundTrafficPolicy:\n    egressProxy: {host: egress.example.com}\n",
    ));
    let fields: Vec<&str> = res
        .warnings
        .iter()
        .filter_map(|w| w.unmodelled.as_ref())
        .map(|u| u.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["spec.ingress", "spec.outboundTrafficPolicy.egressProxy"],
        "{:?}",
        res.warnings
    );
}
