use super::*;

/// Lines as Istio 1.2x sidecars print them: an outbound 503 UF with a TLS failure, an inbound
/// RBAC denial, a listener-level plaintext rejection, a TCP line.
const TEXT_LINES: &[&str] = &[
    "[2026-01-01T00:00:00.000Z] \"GET /headers HTTP/1.1\" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure|TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end} - \"TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end\" 0 190 2 - \"-\" \"curl/8.5.0\" \"5e1c0a2d-0b6f-4ba6-a4c5-0a2f9d6b3c11\" \"httpbin.foo:8000\" \"10.244.0.7:80\" outbound|8000||httpbin.foo.svc.cluster.local - 10.96.12.3:8000 10.244.0.5:51234 - default",
    "[2026-01-01T00:00:00.412Z] \"GET /ip HTTP/1.1\" 403 - rbac_access_denied_matched_policy[ns[foo]-policy[deny-get]-rule[0]] - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"a1\" \"httpbin.foo:8000\" \"-\" inbound|80|| - 10.244.0.7:80 10.244.0.5:40000 outbound_.8000_._.httpbin.foo.svc.cluster.local default",
    "[2026-01-01T00:00:00.000Z] \"- - -\" 0 NR filter_chain_not_found - \"-\" 0 0 0 - \"-\" \"-\" \"-\" \"-\" \"-\" - - 10.244.0.7:80 10.244.0.3:40000 - -",
    "[2026-01-01T00:00:01.000Z] \"- - -\" 0 - - - \"-\" 6 6 1 - \"-\" \"-\" \"-\" \"-\" \"10.244.0.9:3306\" outbound|3306||mysql.db.svc.cluster.local 10.244.0.5:41000 10.96.0.9:3306 10.244.0.5:39000 - -",
];

#[test]
fn text_lines_read_back_and_render_the_same() {
    for line in TEXT_LINES {
        let l = parse_text(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        // Durations and fractions are not kept; everything else is.
        let again = parse_text(&l.render()).expect("rendered line parses");
        assert_eq!(again, l, "{line}");
    }
    let first = parse_text(TEXT_LINES[0]).unwrap();
    assert_eq!(first.code, 503);
    assert_eq!(
        first.flags,
        vec![
            ResponseFlag::UpstreamConnectionFailure,
            ResponseFlag::UpstreamRetryLimitExceeded
        ]
    );
    assert_eq!(
        first.upstream_cluster,
        "outbound|8000||httpbin.foo.svc.cluster.local"
    );
    assert_eq!(first.downstream_remote, "10.244.0.5:51234");
    assert_eq!(
        first.request,
        Some(("GET".into(), "/headers".into(), "HTTP/1.1".into()))
    );
    assert_eq!(parse_text(TEXT_LINES[2]).unwrap().request, None);
}

#[test]
fn the_simulators_own_lines_round_trip() {
    let mut l = AccessLog::new(SimTime::EPOCH);
    l.request = Some(("POST".into(), "/post".into(), "HTTP/1.1".into()));
    l.code = 200;
    l.details = "via_upstream".into();
    l.bytes_received = 3;
    l.bytes_sent = 512;
    l.authority = "httpbin.foo:8000".into();
    l.upstream_cluster = "outbound|8000||httpbin.foo.svc.cluster.local".into();
    l.downstream_remote = "10.244.0.2:20000".into();
    let rendered = l.render();
    assert_eq!(parse_text(&rendered).unwrap(), l);
    let log = parse_proxy_log("p.log", &rendered).unwrap();
    assert_eq!(log.access.len(), 1);
    assert_eq!(log.access[0].fields, l);
}

#[test]
fn json_lines_read_with_nulls_and_numbers() {
    let line = r#"{"authority":"httpbin.foo:8000","bytes_received":0,"bytes_sent":91,"connection_termination_details":null,"downstream_local_address":"10.96.12.3:8000","downstream_remote_address":"10.244.0.5:51234","duration":3,"method":"GET","path":"/headers","protocol":"HTTP/1.1","request_id":"r1","requested_server_name":null,"response_code":503,"response_code_details":"upstream_reset_before_response_started{connection_failure}","response_flags":"UF,URX","route_name":"default","start_time":"2026-01-01T00:00:00.000Z","upstream_cluster":"outbound|8000||httpbin.foo.svc.cluster.local","upstream_host":"10.244.0.7:80","upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":"curl/8.5.0","x_forwarded_for":null}"#;
    let log = parse_proxy_log("p.log", line).unwrap();
    let l = &log.access[0];
    assert_eq!(l.format, AccessLogFormat::Json);
    assert_eq!(l.fields.code, 503);
    assert_eq!(l.fields.termination, "-");
    assert_eq!(l.fields.sni, "-");
    assert_eq!(l.fields.flags.len(), 2);
}

#[test]
fn mixed_container_logs_keep_access_and_agent_lines_only() {
    let text = format!(
        "2026-01-01T00:00:00.000000Z\tinfo\tFLAG: --concurrency=\"2\"\n\
         [2026-01-01 00:00:00.100][20][warning][config] [source/common/config/grpc_stream.h:191] StreamSecrets gRPC config stream closed\n\
         2026-01-01T00:00:00.200000Z\tinfo\tcache\tgenerated new workload certificate\tresourceName=default latency=0s ttl=23h59m59s\n\
         {{\"level\":\"info\",\"time\":\"2026-01-01T00:00:00Z\",\"msg\":\"Envoy proxy is ready\"}}\n\
         {}\n",
        TEXT_LINES[1]
    );
    let log = parse_proxy_log("p.log", &text).unwrap();
    assert_eq!(log.access.len(), 1);
    assert_eq!(log.access[0].line, 5);
    assert_eq!(log.agent.len(), 2);
    assert_eq!(log.skipped, 2);
    assert_eq!(log.newest, Some(SimTime::EPOCH));
}

#[test]
fn broken_lines_are_errors_with_their_line_number() {
    let truncated = &TEXT_LINES[0][..120];
    let cases: &[(String, usize, &str)] = &[
        (
            format!("2026-01-01T00:00:00.000000Z\tinfo\tok\n{truncated}\n"),
            2,
            "truncated",
        ),
        (
            format!("{}\n", TEXT_LINES[2].replace(" NR ", " XX ")),
            1,
            "unknown response flag",
        ),
        (
            format!("{}\n", TEXT_LINES[2].replace("\" 0 NR", "\" abc NR")),
            1,
            "RESPONSE_CODE",
        ),
        (
            "\n{\"start_time\":\"2026-01-01T00:00:00Z\",\"response_code\":50".to_string(),
            2,
            "truncated",
        ),
        ("{\"start_time\":\"noon\"}".to_string(), 1, "start_time"),
    ];
    for (text, line, needle) in cases {
        let err = parse_proxy_log("p.log", text).unwrap_err();
        match &err {
            ArtifactError::Malformed {
                file,
                line: l,
                problem,
                ..
            } => {
                assert_eq!(file, "p.log");
                assert_eq!(l, line, "{text:?}: {err}");
                assert!(problem.contains(needle), "{text:?}: {err}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn files_that_are_no_proxy_log_are_wrong_shape() {
    for text in [
        "",
        "hello world\n",
        "apiVersion: v1\nkind: List\nitems: []\n",
        "\u{0}\u{1}binary",
    ] {
        let err = parse_proxy_log("p.log", text).unwrap_err();
        assert!(
            matches!(err, ArtifactError::WrongShape { .. }),
            "{text:?}: {err:?}"
        );
    }
}

#[test]
fn the_agents_proxy_role_line_names_the_pod() {
    let text = "2026-01-01T00:00:00.000000Z\tinfo\tProxy role\tips=[10.244.1.7,fd00::7] type=sidecar id=httpbin-7d9c8f7b55-x2x9k.foo domain=foo.svc.cluster.local\n";
    let log = parse_proxy_log("p.log", text).unwrap();
    let role = log.proxy_role.expect("proxy role");
    assert_eq!(role.id, "httpbin-7d9c8f7b55-x2x9k.foo");
    assert_eq!(
        role.ips,
        vec!["10.244.1.7".to_string(), "fd00::7".to_string()]
    );
}
