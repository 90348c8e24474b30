use super::*;
use crate::model::{AuthorizationPolicySpec, ExtAuthzApi, ExtAuthzProvider};
use crate::policy::testing::Fixture;
use crate::vocab::PathNormalization;

const SLEEP: &str = "cluster.local/ns/bar/sa/sleep";

fn spec(yaml: &str) -> AuthorizationPolicySpec {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("bad test policy {yaml}: {e}"))
}

/// istio-system (root), foo/httpbin (app=httpbin), bar/sleep.
fn fixture(policies: &[(&str, &str, &str)]) -> Fixture {
    let mut f = Fixture::new();
    f.namespace("istio-system")
        .namespace("foo")
        .namespace("bar");
    f.workload("foo", "httpbin", &[("app", "httpbin"), ("version", "v1")]);
    f.workload("bar", "sleep", &[("app", "sleep")]);
    for (ns, name, yaml) in policies {
        f.ap(ns, name, spec(yaml));
    }
    // `opa`, a gRPC ext_authz provider that resolves (so CUSTOM reaches ext_authz).
    f.workload("foo", "opa", &[("app", "opa")]);
    f.service(
        "foo",
        "opa",
        &[("app", "opa")],
        &[("grpc", 9191, crate::model::TargetPort::Number(9191))],
    );
    f.res.mesh_config.ext_authz_providers = vec![provider("opa", ExtAuthzApi::Grpc, 9191)];
    f
}

fn provider(name: &str, api: ExtAuthzApi, port: u32) -> ExtAuthzProvider {
    ExtAuthzProvider {
        name: name.into(),
        api,
        service: "opa.foo.svc.cluster.local".into(),
        port,
    }
}

/// An HTTP GET / to httpbin on target port 80 from `principal` (None = plaintext).
fn http(principal: Option<&str>) -> RequestFacts {
    RequestFacts::new(
        Some("10.0.0.7".parse().unwrap()),
        principal.map(str::to_string),
        80,
        Some(HttpFacts {
            method: "GET".into(),
            path: "/".into(),
            host: "httpbin.foo:8000".into(),
            headers: BTreeMap::new(),
        }),
        PathNormalization::Base,
    )
}

fn tcp(principal: Option<&str>) -> RequestFacts {
    RequestFacts {
        http: None,
        ..http(principal)
    }
}

fn with(mut facts: RequestFacts, edit: impl FnOnce(&mut RequestFacts)) -> RequestFacts {
    edit(&mut facts);
    facts
}

fn path(p: &str) -> RequestFacts {
    // Through `RequestFacts::new`, which normalizes the path as the HCM does.
    let facts = http(Some(SLEEP));
    let mut h = HttpFacts::clone(facts.http.as_deref().unwrap());
    h.path = p.into();
    RequestFacts::new(
        facts.source_ip,
        facts.principal.clone(),
        facts.destination_port,
        Some(h),
        PathNormalization::Base,
    )
}

/// The traced decision at httpbin, once the trace-off decision (`AuthzIndex::decide`) has been
/// checked to give its verdict: every case of this file checks both.
fn decide(f: &Fixture, facts: &RequestFacts) -> AuthzDecision {
    let w = &f.res.workloads[0];
    let index = AuthzIndex::build(&f.res);
    let traced = index.evaluate(&f.res, w, facts);
    assert_eq!(
        index.decide(&f.res, w, facts),
        traced.verdict(),
        "{facts:?}"
    );
    traced
}

/// Expected outcome: allowed, and the details string (None when allowed).
type Want = (bool, Option<&'static str>);
const ALLOW: Want = (true, None);
const NONE: Want = (false, Some("rbac_access_denied_matched_policy[none]"));

#[test]
fn authorization_follows_custom_deny_allow_order_and_rule_semantics() {
    let allow_all = "rules: [{}]";
    let deny_all = "{action: DENY, rules: [{}]}";
    type Policies<'a> = Vec<(&'a str, &'a str, &'a str)>;
    let cases: Vec<(&str, Policies, RequestFacts, Want)> = vec![
        ("no policy allows", vec![], http(None), ALLOW),
        ("ALLOW without rules allows nothing", vec![("foo", "allow-nothing", "{}")], http(Some(SLEEP)), NONE),
        ("ALLOW with one empty rule allows all", vec![("foo", "allow-all", allow_all)], http(None), ALLOW),
        ("DENY with one empty rule denies all", vec![("foo", "deny-all", deny_all)], http(Some(SLEEP)),
            (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[deny-all]-rule[0]]"))),
        ("DENY without rules never matches", vec![("foo", "deny", "{action: DENY}")], http(None), ALLOW),
        ("an ALLOW cannot override a DENY", vec![("foo", "allow-all", allow_all), ("foo", "deny-all", deny_all)],
            http(Some(SLEEP)), (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[deny-all]-rule[0]]"))),
        ("principal ALLOW admits that principal",
            vec![("foo", "p", "rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/sleep]}}]}]")],
            http(Some(SLEEP)), ALLOW),
        ("principal ALLOW rejects another service account",
            vec![("foo", "p", "rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/sleep]}}]}]")],
            http(Some("cluster.local/ns/bar/sa/default")), NONE),
        ("principal ALLOW rejects plaintext (no identity)",
            vec![("foo", "p", "rules: [{from: [{source: {principals: ['*']}}]}]")], http(None), NONE),
        ("notPrincipals * DENY denies plaintext",
            vec![("foo", "require-mtls", "{action: DENY, rules: [{from: [{source: {notPrincipals: ['*']}}]}]}")],
            http(None), (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[require-mtls]-rule[0]]"))),
        ("notPrincipals * DENY lets mTLS through",
            vec![("foo", "require-mtls", "{action: DENY, rules: [{from: [{source: {notPrincipals: ['*']}}]}]}")],
            http(Some(SLEEP)), ALLOW),
        ("notNamespaces DENY denies a caller from another namespace",
            vec![("foo", "deny-external", "{action: DENY, rules: [{from: [{source: {notNamespaces: [foo, istio-system]}}]}]}")],
            http(Some(SLEEP)), (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[deny-external]-rule[0]]"))),
        ("notNamespaces DENY spares a listed namespace",
            vec![("foo", "deny-external", "{action: DENY, rules: [{from: [{source: {notNamespaces: [foo, bar]}}]}]}")],
            http(Some(SLEEP)), ALLOW),
        ("namespaces prefix match", vec![("foo", "p", "rules: [{from: [{source: {namespaces: ['ba*']}}]}]")], http(Some(SLEEP)), ALLOW),
        ("namespaces need mTLS", vec![("foo", "p", "rules: [{from: [{source: {namespaces: [bar]}}]}]")], http(None), NONE),
        ("serviceAccounts ns/sa", vec![("foo", "p", "rules: [{from: [{source: {serviceAccounts: [bar/sleep]}}]}]")], http(Some(SLEEP)), ALLOW),
        ("bare serviceAccount is in the policy namespace",
            vec![("foo", "p", "rules: [{from: [{source: {serviceAccounts: [sleep]}}]}]")], http(Some(SLEEP)), NONE),
        ("ipBlocks CIDR", vec![("foo", "p", "rules: [{from: [{source: {ipBlocks: [10.0.0.0/24]}}]}]")], http(None), ALLOW),
        ("notIpBlocks", vec![("foo", "p", "rules: [{from: [{source: {notIpBlocks: [10.0.0.7]}}]}]")], http(None), NONE),
        ("requestPrincipals never match without JWT", vec![("foo", "p", "rules: [{from: [{source: {requestPrincipals: ['*']}}]}]")], http(Some(SLEEP)), NONE),
        ("exact path", vec![("foo", "p", "rules: [{to: [{operation: {paths: [/headers]}}]}]")], path("/headers?x=1"), ALLOW),
        ("exact path misses", vec![("foo", "p", "rules: [{to: [{operation: {paths: [/headers]}}]}]")], path("/ip"), NONE),
        ("prefix path", vec![("foo", "p", "rules: [{to: [{operation: {paths: ['/api/*']}}]}]")], path("/api/v1/x"), ALLOW),
        ("suffix path", vec![("foo", "p", "rules: [{to: [{operation: {paths: ['*.png']}}]}]")], path("/img/a.png"), ALLOW),
        ("path template {*}", vec![("foo", "p", "rules: [{to: [{operation: {paths: ['/users/{*}/profile']}}]}]")], path("/users/42/profile"), ALLOW),
        ("path template {**}", vec![("foo", "p", "rules: [{to: [{operation: {paths: ['/static/{**}']}}]}]")], path("/static/a/b/c.css"), ALLOW),
        ("notPaths", vec![("foo", "p", "rules: [{to: [{operation: {notPaths: ['/admin*']}}]}]")], path("/admin/x"), NONE),
        ("methods", vec![("foo", "p", "rules: [{to: [{operation: {methods: [POST]}}]}]")], http(Some(SLEEP)), NONE),
        ("notMethods", vec![("foo", "p", "rules: [{to: [{operation: {notMethods: [POST]}}]}]")], http(Some(SLEEP)), ALLOW),
        ("hosts are case-insensitive on the authority as sent",
            vec![("foo", "p", "rules: [{to: [{operation: {hosts: ['HTTPBIN.foo:8000']}}]}]")], http(Some(SLEEP)), ALLOW),
        // Istio >= 1.11 (`HostMatcher`): no implicit `:port` variant.
        ("a host without the port misses an authority with one",
            vec![("foo", "p", "rules: [{to: [{operation: {hosts: [httpbin.foo]}}]}]")], http(Some(SLEEP)), NONE),
        ("namespaces take * anywhere", vec![("foo", "p", "rules: [{from: [{source: {namespaces: ['b*r']}}]}]")], http(Some(SLEEP)), ALLOW),
        ("paths are matched after dot segments are removed",
            vec![("foo", "deny", "{action: DENY, rules: [{to: [{operation: {paths: ['/admin*']}}]}]}")], path("/public/../admin/x"),
            (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]"))),
        ("ports are target ports", vec![("foo", "p", "rules: [{to: [{operation: {ports: ['80']}}]}]")], http(Some(SLEEP)), ALLOW),
        ("service ports do not match", vec![("foo", "p", "rules: [{to: [{operation: {ports: ['8000']}}]}]")], http(Some(SLEEP)), NONE),
        ("fields AND together", vec![("foo", "p",
            "rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/sleep]}}], to: [{operation: {methods: [POST]}}]}]")],
            http(Some(SLEEP)), NONE),
        ("from entries OR together", vec![("foo", "p",
            "rules: [{from: [{source: {principals: [x/ns/y/sa/z]}}, {source: {namespaces: [bar]}}]}]")],
            http(Some(SLEEP)), ALLOW),
        ("rules OR together and the matching index is reported", vec![("foo", "deny", "{action: DENY, rules: [{to: [{operation: {methods: [POST]}}]}, {to: [{operation: {methods: [GET]}}]}]}")],
            http(None), (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[1]]"))),
        ("when request header", vec![("foo", "p", "rules: [{when: [{key: 'request.headers[X-Token]', values: [secret]}]}]")],
            with(http(None), |f| { Arc::make_mut(f.http.as_mut().unwrap()).headers.insert("x-token".into(), "secret".into()); }), ALLOW),
        ("when request header missing", vec![("foo", "p", "rules: [{when: [{key: 'request.headers[x-token]', values: ['*']}]}]")], http(None), NONE),
        ("when notValues", vec![("foo", "p", "rules: [{when: [{key: source.namespace, notValues: [bar]}]}]")], http(Some(SLEEP)), NONE),
        ("when source.ip", vec![("foo", "p", "rules: [{when: [{key: source.ip, values: [10.0.0.0/8]}]}]")], http(None), ALLOW),
        ("when source.principal", vec![("foo", "p", "rules: [{when: [{key: source.principal, values: [cluster.local/ns/bar/sa/sleep]}]}]")], http(Some(SLEEP)), ALLOW),
        ("when destination.port", vec![("foo", "p", "rules: [{when: [{key: destination.port, values: ['81']}]}]")], http(None), NONE),
        ("when connection.sni", vec![("foo", "p", "rules: [{when: [{key: connection.sni, values: ['outbound_.8000_._.*']}]}]")],
            with(http(Some(SLEEP)), |f| f.sni = Some("outbound_.8000_._.httpbin.foo.svc.cluster.local".into())), ALLOW),
        ("when request.auth claims never match without JWT", vec![("foo", "p", "rules: [{when: [{key: 'request.auth.claims[iss]', values: ['*']}]}]")], http(Some(SLEEP)), NONE),
        ("TCP: an ALLOW rule with HTTP fields is dropped", vec![("foo", "p", "rules: [{to: [{operation: {methods: [GET]}}]}]")], tcp(Some(SLEEP)), NONE),
        ("TCP: an ALLOW rule with TCP fields only applies", vec![("foo", "p", "rules: [{to: [{operation: {ports: ['80']}}]}]")], tcp(Some(SLEEP)), ALLOW),
        ("TCP: a DENY rule loses its HTTP fields and widens",
            vec![("foo", "d", "{action: DENY, rules: [{to: [{operation: {methods: [GET], ports: ['80']}}]}]}")],
            with(tcp(None), |f| f.destination_port = 80), (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[d]-rule[0]]"))),
        ("TCP: a widened DENY still checks TCP fields",
            vec![("foo", "d", "{action: DENY, rules: [{to: [{operation: {methods: [GET], ports: ['81']}}]}]}")], tcp(None), ALLOW),
        ("CUSTOM that matches denies (no ext_authz server)",
            vec![("foo", "ext", "{action: CUSTOM, provider: {name: opa}, rules: [{to: [{operation: {paths: ['/admin*']}}]}]}")],
            path("/admin"), (false, Some("ext_authz_denied"))),
        ("CUSTOM that does not match defers to RBAC",
            vec![("foo", "ext", "{action: CUSTOM, provider: {name: opa}, rules: [{to: [{operation: {paths: ['/admin*']}}]}]}")],
            path("/"), ALLOW),
        ("TCP: a CUSTOM rule loses its HTTP fields like a DENY",
            vec![("foo", "ext", "{action: CUSTOM, provider: {name: opa}, rules: [{to: [{operation: {paths: ['/admin*']}}]}]}")],
            tcp(Some(SLEEP)), (false, Some("ext_authz_denied"))),
        ("AUDIT never decides", vec![("foo", "audit", "{action: AUDIT, rules: [{}]}"), ("foo", "allow-nothing", "{}")], http(None), NONE),
        ("first DENY by policy id is reported",
            vec![("foo", "zz-deny", deny_all), ("foo", "aa-deny", deny_all)], http(None),
            (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[aa-deny]-rule[0]]"))),
        ("root-namespace policy without selector is mesh-wide", vec![("istio-system", "deny", deny_all)], http(None),
            (false, Some("rbac_access_denied_matched_policy[ns[istio-system]-policy[deny]-rule[0]]"))),
        ("root-namespace policy with selector reaches other namespaces",
            vec![("istio-system", "deny", "{selector: {matchLabels: {app: httpbin}}, action: DENY, rules: [{}]}")], http(None),
            (false, Some("rbac_access_denied_matched_policy[ns[istio-system]-policy[deny]-rule[0]]"))),
        ("another namespace's policy does not apply", vec![("bar", "deny", deny_all)], http(None), ALLOW),
        ("a non-matching selector does not apply",
            vec![("foo", "deny", "{selector: {matchLabels: {app: other}}, action: DENY, rules: [{}]}")], http(None), ALLOW),
        ("a matching selector applies",
            vec![("foo", "deny", "{selector: {matchLabels: {version: v1}}, action: DENY, rules: [{}]}")], http(None),
            (false, Some("rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]"))),
        ("targetRef policies attach to gateways, not sidecars",
            vec![("foo", "deny", "{targetRef: {kind: Gateway, name: gw}, action: DENY, rules: [{}]}")], http(None), ALLOW),
        ("a principal in a foreign trust domain does not match",
            vec![("foo", "p", "rules: [{from: [{source: {principals: [td2/ns/bar/sa/sleep]}}]}]")], http(Some(SLEEP)), NONE),
    ];
    for (name, policies, facts, (allowed, details)) in cases {
        let f = fixture(&policies);
        let got = decide(&f, &facts);
        assert_eq!(
            (got.allowed, got.details.as_deref()),
            (allowed, details),
            "{name}: {:#?}",
            got.decided_by
        );
        assert!(!got.decided_by.is_empty(), "{name}");
    }
}

#[test]
fn trust_domain_aliases_let_old_principals_match_new_identities() {
    let mut f = fixture(&[(
        "foo",
        "p",
        "rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/sleep]}}]}]",
    )]);
    f.res.mesh_config.trust_domain = "td1".into();
    f.res.mesh_config.trust_domain_aliases = vec!["cluster.local".into()];
    assert!(decide(&f, &http(Some("td1/ns/bar/sa/sleep"))).allowed);
    assert!(decide(&f, &http(Some("cluster.local/ns/bar/sa/sleep"))).allowed);
    assert!(!decide(&f, &http(Some("td2/ns/bar/sa/sleep"))).allowed);
    // Without the alias, cluster.local still points at the local trust domain only.
    f.res.mesh_config.trust_domain_aliases.clear();
    assert!(decide(&f, &http(Some("td1/ns/bar/sa/sleep"))).allowed);
    assert!(!decide(&f, &http(Some("cluster.local/ns/bar/sa/sleep"))).allowed);
}

#[test]
fn decisions_name_the_matched_rule_and_record_audits() {
    let f = fixture(&[
        ("foo", "audit", "{action: AUDIT, rules: [{to: [{operation: {methods: [GET]}}]}]}"),
        ("foo", "allow", "rules: [{to: [{operation: {methods: [POST]}}]}, {from: [{source: {namespaces: [bar]}}]}]"),
    ]);
    let got = decide(&f, &http(Some(SLEEP)));
    assert!(got.allowed);
    let m = got.matched.unwrap();
    assert_eq!(
        (m.action, m.rule, m.policy_id.as_str()),
        (AuthzAction::Allow, 1, "ns[foo]-policy[allow]-rule[1]")
    );
    assert_eq!(got.audited.len(), 1);
    assert_eq!(got.audited[0].policy_id, "ns[foo]-policy[audit]-rule[0]");
    let miss = got
        .decided_by
        .iter()
        .find(|d| d.reason.contains("rule[0] does not match"))
        .expect("the non-matching rule is explained");
    assert!(miss.reason.contains("methods"), "{}", miss.reason);
}

#[test]
fn misses_name_the_field_that_failed() {
    let principal_rule =
        "rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/sleep]}}]}]";
    let cases: Vec<(&str, &str, RequestFacts, &str, &str)> = vec![
        ("plaintext has no identity", principal_rule, http(None), "principals", "plaintext peer"),
        (
            "another service account",
            principal_rule,
            http(Some("cluster.local/ns/bar/sa/default")),
            "principals",
            "peer cluster.local/ns/bar/sa/default matches none of",
        ),
        (
            "HTTP-only ALLOW on TCP",
            "rules: [{to: [{operation: {methods: [GET]}}]}]",
            tcp(Some(SLEEP)),
            "http-only fields",
            "dropped",
        ),
        ("no rules", "{}", http(Some(SLEEP)), "rules", "no rules"),
        (
            "second from entry reported too",
            "rules: [{from: [{source: {namespaces: [x]}}, {source: {ipBlocks: [192.168.0.0/16]}}]}]",
            http(Some(SLEEP)),
            "namespaces",
            "from[1] ipBlocks",
        ),
    ];
    for (name, yaml, facts, field, reason) in cases {
        let f = fixture(&[("foo", "p", yaml)]);
        let got = decide(&f, &facts);
        assert!(!got.allowed, "{name}");
        assert_eq!(got.misses.len(), 1, "{name}");
        assert_eq!(got.misses[0].field, field, "{name}");
        assert!(
            got.misses[0].reason.contains(reason),
            "{name}: {}",
            got.misses[0].reason
        );
        assert_eq!(
            got.misses[0].policy_id, "ns[foo]-policy[p]-rule[0]",
            "{name}"
        );
    }
}

#[test]
fn dry_run_policies_are_reported_but_never_enforced() {
    let mut f = fixture(&[
        ("foo", "deny-all", "{action: DENY, rules: [{}]}"),
        ("foo", "allow-nothing", "{}"),
    ]);
    for p in &mut f.res.authorization_policies {
        p.meta
            .annotations
            .insert(DRY_RUN_ANNOTATION.into(), "true".into());
    }
    let got = decide(&f, &http(Some(SLEEP)));
    assert!(got.allowed, "{:#?}", got.decided_by);
    assert_eq!(got.details, None);
    assert_eq!(got.dry_run.len(), 1);
    assert_eq!(got.dry_run[0].policy_id, "ns[foo]-policy[deny-all]-rule[0]");
    assert!(got.decided_by.iter().any(|d| d.step == "authz/dry-run"));

    // Enforced again once the annotation says so.
    f.res.authorization_policies[0]
        .meta
        .annotations
        .insert(DRY_RUN_ANNOTATION.into(), "false".into());
    assert!(!decide(&f, &http(Some(SLEEP))).allowed);
}

/// `getExtAuthz` (Istio 1.22–1.28): a CUSTOM provider istiod cannot use turns every CUSTOM rule
/// of the workload into a plain RBAC DENY named `istio-ext-authz-<id>-deny-due-to-bad-CUSTOM-action`
/// (only matching requests are denied); an HTTP provider has no TCP filter, so CUSTOM is ignored
/// on TCP.
#[test]
fn custom_policies_follow_how_istiod_resolves_their_provider() {
    const BAD: &str = "rbac_access_denied_matched_policy[istio-ext-authz-ns[foo]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action]";
    let admin = "{action: CUSTOM, provider: {name: NAME}, rules: [{to: [{operation: {paths: ['/admin*']}}]}]}";
    let any = "{action: CUSTOM, provider: {name: NAME}, rules: [{}]}";
    type Edit = fn(&mut Fixture);
    let keep: Edit = |_| {};
    let http_provider: Edit = |f| {
        f.res.mesh_config.ext_authz_providers = vec![provider("opa", ExtAuthzApi::Http, 9191)];
    };
    let no_such_service: Edit = |f| {
        let mut p = provider("opa", ExtAuthzApi::Grpc, 9191);
        p.service = "foo/opa.bar.svc.cluster.local".into();
        f.res.mesh_config.ext_authz_providers = vec![p];
    };
    // `LookupCluster` never checks the port against the Service.
    let other_port: Edit = |f| {
        let mut p = provider("opa", ExtAuthzApi::Grpc, 8000);
        p.service = "foo/opa.foo.svc.cluster.local".into();
        f.res.mesh_config.ext_authz_providers = vec![p];
    };
    let cases: Vec<(&str, &str, &str, Edit, RequestFacts, Want)> = vec![
        (
            "a defined provider reaches ext_authz",
            admin,
            "opa",
            keep,
            path("/admin"),
            (false, Some("ext_authz_denied")),
        ),
        (
            "an undefined provider denies matching requests",
            admin,
            "missing",
            keep,
            path("/admin"),
            (false, Some(BAD)),
        ),
        (
            "an undefined provider leaves other requests alone",
            admin,
            "missing",
            keep,
            path("/"),
            ALLOW,
        ),
        (
            "a provider whose service is not in the registry is unusable",
            admin,
            "opa",
            no_such_service,
            path("/admin"),
            (false, Some(BAD)),
        ),
        (
            "a provider's port need not be a Service port",
            admin,
            "opa",
            other_port,
            path("/admin"),
            (false, Some("ext_authz_denied")),
        ),
        (
            "an HTTP provider is ignored on TCP",
            any,
            "opa",
            http_provider,
            tcp(Some(SLEEP)),
            ALLOW,
        ),
        (
            "a gRPC provider applies on TCP",
            any,
            "opa",
            keep,
            tcp(Some(SLEEP)),
            (false, Some("ext_authz_denied")),
        ),
        (
            "an undefined provider denies TCP too",
            any,
            "missing",
            keep,
            tcp(Some(SLEEP)),
            (false, Some(BAD)),
        ),
    ];
    for (name, yaml, provider_name, edit, facts, want) in cases {
        let mut f = fixture(&[("foo", "ext", &yaml.replace("NAME", provider_name))]);
        edit(&mut f);
        let got = decide(&f, &facts);
        assert_eq!(
            (got.allowed, got.details.as_deref()),
            want,
            "{name}: {:#?}",
            got.decided_by
        );
    }
    // Two providers on one workload: neither can be used (one provider per workload).
    let mut f = fixture(&[
        ("foo", "ext", &admin.replace("NAME", "opa")),
        ("foo", "ext2", &admin.replace("NAME", "other")),
    ]);
    f.res
        .mesh_config
        .ext_authz_providers
        .push(provider("other", ExtAuthzApi::Grpc, 9191));
    // Envoy reports the first matching policy in name order: `...[ext2]...` sorts before `...[ext]...`.
    assert_eq!(
        decide(&f, &path("/admin")).details.as_deref(),
        Some(BAD.replace("policy[ext]", "policy[ext2]").as_str())
    );
}

/// `isDryRun` reads the annotation with Go's `strconv.ParseBool`; what it rejects is enforced.
#[test]
fn dry_run_annotation_is_read_like_go_parse_bool() {
    let cases = [
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("1", true),
        ("t", true),
        ("T", true),
        ("tRuE", false),
        ("yes", false),
        (" true", false),
        ("false", false),
        ("0", false),
        ("", false),
    ];
    for (value, dry) in cases {
        let mut f = fixture(&[("foo", "deny-all", "{action: DENY, rules: [{}]}")]);
        f.res.authorization_policies[0]
            .meta
            .annotations
            .insert(DRY_RUN_ANNOTATION.into(), value.into());
        let got = decide(&f, &http(Some(SLEEP)));
        assert_eq!(got.allowed, dry, "istio.io/dry-run: {value:?}");
    }
}

#[test]
fn workload_principal_uses_the_mesh_trust_domain() {
    let mut f = fixture(&[]);
    f.res.mesh_config.trust_domain = "td1".into();
    f.res.workloads[1].service_account = "sleep".into();
    assert_eq!(
        workload_principal(&f.res, &f.res.workloads[1]),
        "td1/ns/bar/sa/sleep"
    );
}

#[test]
fn details_replace_whitespace_in_policy_ids() {
    assert_eq!(
        rbac_denied_details(Some("ns[a b]-policy[c]-rule[0]")),
        "rbac_access_denied_matched_policy[ns[a_b]-policy[c]-rule[0]]"
    );
    assert_eq!(
        rbac_denied_details(None),
        "rbac_access_denied_matched_policy[none]"
    );
}

/// The index reads only the workload's namespace and the root namespace: with 10k workloads in
/// 500 namespaces and 2k policies, one decision visits a handful of policies, not 2k.
#[test]
fn index_visits_only_the_workload_and_root_namespaces() {
    let mut f = Fixture::new();
    f.namespace("istio-system");
    for n in 0..500 {
        f.namespace(&format!("ns-{n}"));
    }
    for w in 0..10_000 {
        let ns = format!("ns-{}", w % 500);
        f.workload(
            &ns,
            &format!("w-{w}"),
            &[("app", &format!("app-{}", w % 7))],
        );
    }
    for p in 0..2_000 {
        let spread = format!("ns-{}", p % 500);
        let (ns, yaml) = match p % 4 {
            0 => (
                spread,
                "{action: DENY, rules: [{to: [{operation: {paths: ['/deny']}}]}]}",
            ),
            1 => (
                spread,
                "{selector: {matchLabels: {app: app-3}}, rules: [{}]}",
            ),
            2 => (spread, "rules: [{from: [{source: {namespaces: [ns-1]}}]}]"),
            // A few root-namespace policies (mesh-wide audit by selector); the rest spread out.
            _ if p < 40 => (
                "istio-system".to_string(),
                "{selector: {matchLabels: {app: app-5}}, action: AUDIT, rules: [{}]}",
            ),
            _ => (spread, "{action: AUDIT, rules: [{}]}"),
        };
        f.ap(&ns, &format!("p-{p}"), spec(yaml));
    }
    let idx = AuthzIndex::build(&f.res);
    let root_count = f
        .res
        .authorization_policies
        .iter()
        .filter(|p| p.meta.namespace == "istio-system")
        .count();
    for w in [0usize, 1, 499, 9_999] {
        let wl = &f.res.workloads[w];
        let own = f
            .res
            .authorization_policies
            .iter()
            .filter(|p| p.meta.namespace == wl.meta.namespace)
            .count();
        let cands = idx.candidates(wl);
        let applicable = f
            .res
            .authorization_policies
            .iter()
            .filter(|p| scope_of(p, wl, "istio-system").is_some())
            .count();
        // Every applicable policy, and no selector policy whose first label the workload lacks.
        assert!(
            (applicable..=own + root_count).contains(&cands.len()),
            "workload {w}: {} candidates, {applicable} applicable",
            cands.len()
        );
        assert!(
            cands.len() < 30,
            "workload {w} visits {} policies",
            cands.len()
        );
        assert!(cands.iter().all(|&i| {
            let ns = &f.res.authorization_policies[i].meta.namespace;
            ns == &wl.meta.namespace || ns == "istio-system"
        }));
        // Same answer as scanning every policy.
        let all: Vec<_> = f
            .res
            .authorization_policies
            .iter()
            .filter_map(|p| scope_of(p, wl, "istio-system").map(|s| (p, s)))
            .collect();
        let facts = with(http(Some("cluster.local/ns/ns-1/sa/default")), |f| {
            Arc::make_mut(f.http.as_mut().unwrap()).path = "/deny".into()
        });
        assert_eq!(
            idx.evaluate(&f.res, wl, &facts),
            evaluate_policies(&f.res, &all, &facts)
        );
    }
}

/// Seeded random policy sets: the index agrees with scanning every policy, and adding an ALLOW
/// policy never lifts a DENY (there is no priority; a DENY is final).
#[test]
fn index_agrees_with_a_full_scan_and_allow_never_lifts_a_deny() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xa11ce);
    let namespaces = ["istio-system", "foo", "bar"];
    let bodies = [
        "{}",
        "rules: [{}]",
        "{action: DENY, rules: [{}]}",
        "{action: DENY, rules: [{from: [{source: {notPrincipals: ['*']}}]}]}",
        "{action: DENY, rules: [{to: [{operation: {methods: [POST]}}]}]}",
        "rules: [{from: [{source: {namespaces: [bar]}}]}]",
        "rules: [{to: [{operation: {paths: ['/api/*'], ports: ['80']}}]}]",
        "{selector: {matchLabels: {app: httpbin}}, action: DENY, rules: [{when: [{key: source.ip, values: [10.0.0.0/8]}]}]}",
        "{selector: {matchLabels: {app: other}}, rules: [{}]}",
        "{action: AUDIT, rules: [{}]}",
        "{action: CUSTOM, provider: {name: ext}, rules: [{to: [{operation: {paths: ['/admin']}}]}]}",
    ];
    let requests = [
        http(None),
        http(Some(SLEEP)),
        path("/api/x"),
        path("/admin"),
        tcp(None),
        tcp(Some(SLEEP)),
    ];
    for round in 0..200 {
        let mut policies = Vec::new();
        for i in 0..rng.gen_range(0..6) {
            let ns = namespaces[rng.gen_range(0..namespaces.len())];
            policies.push((ns, format!("p{i}"), bodies[rng.gen_range(0..bodies.len())]));
        }
        let refs: Vec<(&str, &str, &str)> = policies
            .iter()
            .map(|(n, p, b)| (*n, p.as_str(), *b))
            .collect();
        let f = fixture(&refs);
        let idx = AuthzIndex::build(&f.res);
        let w = &f.res.workloads[0];
        let all: Vec<_> = f
            .res
            .authorization_policies
            .iter()
            .filter_map(|p| scope_of(p, w, "istio-system").map(|s| (p, s)))
            .collect();
        let mut with_allow = f.res.clone();
        with_allow.authorization_policies.push(AuthorizationPolicy {
            meta: crate::policy::testing::meta("foo", "zz-allow-all", None),
            spec: spec("rules: [{}]"),
        });
        for facts in &requests {
            let got = idx.evaluate(&f.res, w, facts);
            assert_eq!(got, evaluate_policies(&f.res, &all, facts), "round {round}");
            if got
                .matched
                .as_ref()
                .is_some_and(|m| m.action == AuthzAction::Deny)
            {
                let again = AuthzIndex::build(&with_allow).evaluate(&with_allow, w, facts);
                assert!(!again.allowed, "round {round}: an ALLOW lifted a DENY");
                assert_eq!(again.details, got.details, "round {round}");
            }
        }
    }
}
