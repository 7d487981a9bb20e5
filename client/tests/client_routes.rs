//! The library against the real Worker (every route, the walk over all apps, errors as
//! the envelope) and against a server double (retries with one Idempotency-Key).

mod support;

use connect_client::{
    BatchCreateRequest, BatchItem, Client, CreateAppRequest, Error, ErrorCode,
    ReplaceRedirectUrisRequest, RetryPolicy, UpdateAppRequest, WebhookConfigInput,
};
use connect_e2e::Server;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::Double;

fn item(i: usize) -> BatchItem {
    BatchItem {
        app: CreateAppRequest {
            name: format!("Walked {i}"),
            logo: None,
            redirect_uris: Some(vec![format!("https://w{i}.example.com/callback")]),
            webhook_config: None,
        },
        idempotency_key: Some(format!("w-{i}")),
    }
}

/// A batch of `item(0)` alone.
fn one_item_batch() -> BatchCreateRequest {
    BatchCreateRequest {
        items: vec![item(0)],
        continue_on_error: None,
    }
}

#[test]
fn the_stream_walks_450_apps_once_each_in_creation_order() {
    let server = Server::shared();
    let tenant = server.tenant();
    let client = Client::builder(server.base_url(), &tenant.key)
        .build()
        .unwrap();
    let mut created = Vec::new();
    for chunk in (0..450).collect::<Vec<_>>().chunks(90) {
        let request = BatchCreateRequest {
            items: chunk.iter().map(|&i| item(i)).collect(),
            continue_on_error: None,
        };
        let answer = client.batch_create(&request, None).unwrap();
        assert_eq!(answer.success_count, chunk.len());
        created.extend(answer.results.into_iter().map(|r| r.app.unwrap().client_id));
    }
    let walked: Vec<_> = client.apps().map(|a| a.unwrap().client_id).collect();
    assert_eq!(walked.len(), 450);
    assert_eq!(
        walked.iter().collect::<HashSet<_>>().len(),
        450,
        "each once"
    );
    assert_eq!(walked, created, "in creation order");
}

#[test]
fn every_route_works_and_errors_carry_the_envelope() {
    let server = Server::shared();
    let tenant = server.tenant();
    let client = Client::builder(server.base_url(), &tenant.key)
        .build()
        .unwrap();
    let request = CreateAppRequest {
        name: "Routes".into(),
        logo: None,
        redirect_uris: Some(vec!["https://routes.example.com/cb".into()]),
        webhook_config: None,
    };
    let app = client.create_app(&request, Some("routes-1")).unwrap();
    let replay = client.create_app(&request, Some("routes-1")).unwrap();
    assert_eq!(replay, app, "the same key replays the same app");
    assert_eq!(client.workspace().unwrap().apps_count, 1);
    let id = app.client_id;
    assert_eq!(client.get_app(&id).unwrap(), app);

    let patched = client
        .update_app(
            &id,
            &UpdateAppRequest {
                name: Some("Routes renamed".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(patched.name, "Routes renamed");
    let uris = client
        .replace_redirect_uris(
            &id,
            &ReplaceRedirectUrisRequest {
                redirect_uris: vec!["https://routes.example.com/new".into()],
            },
        )
        .unwrap();
    assert_eq!(uris.redirect_uris, ["https://routes.example.com/new"]);
    assert_eq!(client.redirect_uris(&id).unwrap(), uris);
    let hook = client
        .update_webhook_config(
            &id,
            &WebhookConfigInput {
                url: Some(Some("https://hooks.routes.example.com/in".into())),
                enabled: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(hook.enabled);
    let secret = client.rotate_webhook_secret(&id, None).unwrap();
    let shown = client.webhook_config(&id).unwrap();
    assert!(shown
        .secret
        .is_some_and(|preview| preview != secret.secret.expose()));
    let rotated = client.rotate_client_secret(&id, None).unwrap();
    assert_ne!(rotated.client_secret, app.client_secret);
    assert_eq!(
        client.get_app(&id).unwrap().client_secret,
        rotated.client_secret
    );
    let deleted = client.delete_app(&id).unwrap();
    assert!(deleted.deleted);

    match client.get_app(&id) {
        Err(e @ Error::Api { .. }) => {
            assert_eq!(e.status(), Some(404));
            assert_eq!(e.code(), Some(ErrorCode::ResourceNotFound));
            let Error::Api { request_id, .. } = &e else {
                unreachable!()
            };
            assert!(request_id.as_ref().is_some_and(|id| id.len() == 36), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let reused = client.create_app(
        &CreateAppRequest {
            name: "Another".into(),
            ..request.clone()
        },
        Some("routes-1"),
    );
    assert_eq!(
        reused.unwrap_err().code(),
        Some(ErrorCode::IdempotencyKeyConflict)
    );
    let wrong_key = Client::builder(server.base_url(), "sk_workspace_test_nope")
        .build()
        .unwrap();
    assert_eq!(
        wrong_key.workspace().unwrap_err().code(),
        Some(ErrorCode::AuthInvalidCredentials)
    );
}

#[test]
fn a_request_the_rules_refuse_is_never_sent() {
    let double = Double::start(vec![]);
    let client = double.client();
    let mut bad = item(0);
    bad.app.redirect_uris = Some(vec!["https://a.example.com/cb".into(), "http://".into()]);
    let request = BatchCreateRequest {
        items: vec![item(1), bad],
        continue_on_error: None,
    };
    let e = client.batch_create(&request, None).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert_eq!(e.parameter(), Some("items[1].redirectUris[1]"));
    assert_eq!(e.code(), Some(ErrorCode::ValidationInvalidParameter));
    let e = client
        .create_app(&item(2).app, Some("a key with\u{7f} a control"))
        .unwrap_err();
    assert_eq!(e.parameter(), Some("Idempotency-Key"));
    assert!(double.seen().is_empty());
}

const CREATED: &str = r#"{"results":[],"successCount":0,"errorCount":0}"#;

#[test]
fn a_500_then_a_429_then_a_201_is_a_success_with_one_key() {
    let double = Double::start(vec![
        (
            500,
            vec![],
            r#"{"error":{"code":"SYSTEM_INTERNAL_ERROR","message":"lost"},"request_id":"r1"}"#
                .into(),
        ),
        (
            429,
            vec![("retry-after", "1".into())],
            r#"{"error":{"code":"RATE_LIMITED","message":"slow down"},"request_id":"r2"}"#.into(),
        ),
        (201, vec![], CREATED.into()),
    ]);
    let client = double.client();
    let request = one_item_batch();
    let t0 = Instant::now();
    let answer = client.batch_create(&request, None).unwrap();
    assert_eq!(answer.success_count, 0);
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let seen = double.seen();
    assert_eq!(seen.len(), 3);
    let keys: HashSet<_> = seen.iter().map(|s| s.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 1, "one key for every attempt: {keys:?}");
    let key = seen[0].idempotency_key.clone().unwrap();
    assert_eq!(key.len(), 36, "a fresh UUID: {key}");
    assert!(seen
        .iter()
        .all(|s| s.body == seen[0].body && s.path == "/connect/v1/apps/batch"));
}

#[test]
fn in_progress_is_retried_and_another_4xx_never_is() {
    let in_progress = Double::start(vec![
        (
            409,
            vec![("retry-after", "0".into())],
            r#"{"error":{"code":"IDEMPOTENCY_REQUEST_IN_PROGRESS","message":"wait"}}"#.into(),
        ),
        (201, vec![], CREATED.into()),
    ]);
    let client = in_progress.client();
    let request = one_item_batch();
    client.batch_create(&request, Some("mine")).unwrap();
    let seen = in_progress.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|s| s.idempotency_key.as_deref() == Some("mine")));

    for (status, code) in [
        (409, "IDEMPOTENCY_KEY_CONFLICT"),
        (400, "VALIDATION_INVALID_PARAMETER"),
        (404, "RESOURCE_NOT_FOUND"),
    ] {
        let double = Double::start(vec![
            (
                status,
                vec![],
                format!(r#"{{"error":{{"code":"{code}","message":"no"}}}}"#),
            ),
            (201, vec![], CREATED.into()),
        ]);
        let client = double.client();
        let e = client.batch_create(&request, None).unwrap_err();
        assert_eq!(e.status(), Some(status));
        assert_eq!(double.seen().len(), 1, "{code} is final");
    }

    // Nobody listening: retried as the policy says, then a transport error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::builder(url, "sk_workspace_test_x")
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        })
        .build()
        .unwrap();
    assert!(matches!(client.workspace(), Err(Error::Transport(_))));
}

#[test]
fn a_delete_whose_answer_was_lost_succeeds_when_the_retry_finds_the_app_gone() {
    let not_found = r#"{"error":{"code":"RESOURCE_NOT_FOUND","message":"no app HqTRDIYH"}}"#;
    let lost = Double::start(vec![
        (
            500,
            vec![],
            r#"{"error":{"code":"SYSTEM_INTERNAL_ERROR","message":"it may or may not have happened"}}"#
                .into(),
        ),
        (404, vec![], not_found.into()),
    ]);
    let id = connect_client::ClientId::parse("HqTRDIYH").unwrap();
    let client = lost.client();
    let deleted = client.delete_app(&id).unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.client_id, id);
    assert_eq!(lost.seen().len(), 2);
    assert!(lost.seen().iter().all(|s| s.method == "DELETE"));

    // Without an earlier attempt in doubt, no app is an error.
    let missing = Double::start(vec![(404, vec![], not_found.into())]);
    let client = missing.client();
    assert_eq!(
        client.delete_app(&id).unwrap_err().code(),
        Some(ErrorCode::ResourceNotFound)
    );
}

#[test]
fn the_latest_bookmark_goes_back_with_every_later_call() {
    let first = "SHARD_2:00000000-00000003-00000000-00000000000000000000000000000000";
    let second = "SHARD_2:00000000-00000004-00000000-00000000000000000000000000000000";
    let double = Double::start(vec![
        (
            201,
            vec![("x-connect-bookmark", first.into())],
            CREATED.into(),
        ),
        (
            404,
            vec![("x-connect-bookmark", second.into())],
            r#"{"error":{"code":"RESOURCE_NOT_FOUND","message":"no app"},"request_id":"r1"}"#
                .into(),
        ),
        (
            404,
            vec![],
            r#"{"error":{"code":"RESOURCE_NOT_FOUND","message":"no app"},"request_id":"r2"}"#
                .into(),
        ),
    ]);
    let client = double.client();
    let request = one_item_batch();
    client.batch_create(&request, None).unwrap();
    let id = connect_client::ClientId::parse("HqTRDIYH").unwrap();
    assert!(client.get_app(&id).is_err());
    assert!(client.get_app(&id).is_err());
    let sent: Vec<Option<String>> = double.seen().into_iter().map(|s| s.bookmark).collect();
    assert_eq!(
        sent,
        [None, Some(first.to_owned()), Some(second.to_owned())],
        "none at first, then the latest answer's (an error's too; one without keeps it)"
    );
}
