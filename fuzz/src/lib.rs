//! The invariants the fuzz targets check: one public function per target, each taking the
//! raw bytes libFuzzer made, feeding them through connect-core's public API the way the
//! Worker does, and panicking (a crash, to libFuzzer) when an invariant breaks.
//!
//! This file is shared word for word with the core's regression tests:
//! `core/tests/fuzz_regressions.rs` includes it with `#[path]`, so an input that crashes a
//! target here fails there through exactly the same code. Keep it free of crate-level
//! attributes and of dependencies other than connect-core, serde, serde_json and
//! unicode-normalization (a dependency of connect-core, so its tests have it too).

use connect_core::rules::app::{AppPatch, NewApp};
use connect_core::rules::batch::{self, MAX_BATCH_ITEMS};
use connect_core::rules::bodies::MAX_ITEM_KEY_CHARS;
use connect_core::rules::idempotency::{canonical_json, Fingerprint, IdempotencyKey, MAX_KEY_LEN};
use connect_core::rules::input::{parse_body, FromJson, Path};
use connect_core::rules::logo::Logo;
use connect_core::rules::name::AppName;
use connect_core::rules::pagination::{PageRequest, MAX_LIMIT, MAX_OFFSET};
use connect_core::rules::redirect_uri::{
    RedirectUri, RedirectUris, MAX_REDIRECT_URIS, MAX_URI_LEN,
};
use connect_core::rules::webhook::{
    WebhookPatch, WebhookSettings, RETRY_ATTEMPTS, TIMEOUT_SECONDS,
};
use connect_core::server::app::Held;
use connect_core::server::row::Stored;
use connect_core::server::seal::KeyRing;
use connect_core::server::shards::ClientIdClass;
use connect_core::test_util::SeededEntropy;
use connect_core::wire::app::{App, AppForm, WebhookConfig};
use connect_core::wire::error::{ErrorCode, ErrorObject};
use connect_core::wire::error::{FieldError, FieldErrorKind};
use connect_core::wire::ids::{ClientId, WorkspaceId};
use connect_core::wire::request::{CreateAppRequest, UpdateAppRequest, WebhookConfigInput};
use connect_core::wire::response::BatchCreateResponse;
use connect_core::wire::time::Timestamp;
use serde_json::Value;
use std::collections::HashSet;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// The workspace every minted app belongs to.
const WORKSPACE: &str = "org_fuzz";
/// The fixed clock of every target: 2026-03-27T08:22:51.272Z.
const NOW_MS: i64 = 1_774_599_771_272;

fn workspace() -> WorkspaceId {
    WorkspaceId::parse(WORKSPACE).expect("a valid workspace id")
}

fn now() -> Timestamp {
    Timestamp::from_millis(NOW_MS)
}

/// A seed for the minting entropy, derived from the input (FNV-1a): different inputs mint
/// different ids, the same input always the same ones, so a crash replays exactly.
fn seed_of(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A name as it is stored: trimmed, then in Unicode NFC.
fn stored_name(sent: &str) -> String {
    sent.trim().nfc().collect()
}

/// What every refusal owes its caller: a parameter named by a short, printable path, and a
/// bounded message that starts with that path; and an error object that says the same.
fn check_field_error(e: &FieldError) {
    assert!(
        !e.parameter.is_empty(),
        "a refusal names its parameter: {e:?}"
    );
    assert!(
        !e.parameter.chars().any(char::is_control),
        "a parameter holds no control characters: {e:?}"
    );
    assert!(e.parameter.len() <= 1024, "a parameter is bounded: {e:?}");
    assert!(e.message.len() <= 4096, "a message is bounded: {e:?}");
    assert!(
        e.message.starts_with(&e.parameter),
        "a message starts with its parameter: {e:?}"
    );
    let object = e.to_error_object();
    let code = match e.kind {
        FieldErrorKind::Missing => ErrorCode::ValidationMissingParameter,
        FieldErrorKind::Invalid => ErrorCode::ValidationInvalidParameter,
    };
    assert_eq!(object.code, code);
    let details = object.details.as_ref().expect("a field error has details");
    assert_eq!(details.parameter.as_deref(), Some(e.parameter.as_str()));
    assert_eq!((details.index, details.max), (e.index, e.max));
    let wire = serde_json::to_string(&object).expect("an error object serializes");
    let back: ErrorObject = serde_json::from_str(&wire).expect("an error object deserializes");
    assert_eq!(back, object, "an error object round-trips");
}

/// Webhook settings as a create or a patch would send them.
fn input_of<F: AppForm>(config: &WebhookConfig<F>) -> WebhookConfigInput {
    WebhookConfigInput {
        url: Some(config.url.clone()),
        enabled: Some(config.enabled),
        retry_attempts: Some(config.retry_attempts.into()),
        timeout_seconds: Some(config.timeout_seconds.into()),
        events: Some(config.events.clone()),
    }
}

/// The stored rules of a URI list: at most 20, each already in its normal form, no two
/// the same.
fn check_uri_list(uris: &[String]) {
    assert!(uris.len() <= MAX_REDIRECT_URIS, "{uris:?}");
    for u in uris {
        let again = RedirectUri::parse(u, "u").expect("a stored URI re-parses");
        assert_eq!(again.as_str(), u, "a stored URI is in normal form");
    }
    let distinct: HashSet<&String> = uris.iter().collect();
    assert_eq!(distinct.len(), uris.len(), "no duplicate URIs: {uris:?}");
}

/// The rules of stored webhook settings.
fn check_webhook<F: AppForm>(config: &WebhookConfig<F>) {
    assert!(
        WebhookSettings::from_config(config).is_some(),
        "a stored webhook config reads back: {config:?}"
    );
    assert!(RETRY_ATTEMPTS.contains(&i64::from(config.retry_attempts)));
    assert!(TIMEOUT_SECONDS.contains(&i64::from(config.timeout_seconds)));
    assert!(!config.enabled || config.url.is_some(), "{config:?}");
    if let Some(url) = &config.url {
        check_uri_list(std::slice::from_ref(url));
    }
    let distinct: HashSet<&String> = config.events.iter().collect();
    assert_eq!(distinct.len(), config.events.len(), "no duplicate events");
}

/// What every App the API shows must hold, and that it survives the wire.
fn check_app(app: &App) {
    assert_eq!(app.organization_id, workspace());
    assert_eq!(ClientId::parse(app.client_id.as_str()), Ok(app.client_id));
    let name = AppName::parse(&app.name, "name").expect("a stored name re-validates");
    assert_eq!(name.as_str(), app.name, "a stored name is trimmed");
    assert!(is_nfc(&app.name), "a stored name is in NFC: {:?}", app.name);
    let chars: Vec<char> = app.name.chars().collect();
    assert!(
        !chars.first().is_some_and(|&c| is_combining_mark(c)),
        "{:?}",
        app.name
    );
    assert!(
        chars
            .split(|&c| !is_combining_mark(c))
            .all(|marks| marks.len() <= 4),
        "at most 4 combining marks on a character: {:?}",
        app.name
    );
    check_uri_list(&app.redirect_uris);
    if let Some(logo) = &app.logo {
        let again = Logo::parse(logo, "logo").expect("a stored logo re-validates");
        assert_eq!(again.as_str(), logo);
    }
    check_webhook(&app.webhook_config);
    for uri in [
        &app.default_success_redirect_uri,
        &app.default_failure_redirect_uri,
    ]
    .into_iter()
    .flatten()
    {
        check_uri_list(std::slice::from_ref(uri));
    }
    assert!(app.created_at <= app.updated_at);
    assert!(
        app.workflows
            .iter()
            .any(|w| w.workflow_id == app.default_workflow_id),
        "the default workflow exists"
    );
    let wire = serde_json::to_string(app).expect("an app serializes");
    let back: App = serde_json::from_str(&wire).expect("an app deserializes");
    assert_eq!(&back, app, "an app round-trips");
}

/// `batch`: `parse_body`, `batch::plan`, and on success `execute` with a seeded entropy
/// and a fixed workspace and time. One result per item, in order, each exactly an app or
/// an error (with the item's index), the counts adding up, the item's key echoed, created
/// apps valid and distinct, execution deterministic, and the response surviving the wire.
pub fn batch(data: &[u8]) {
    let body = match parse_body(data) {
        Ok(body) => body,
        Err(e) => {
            check_field_error(&e);
            assert!(
                e.parameter == "body" || e.message.contains("is given more than once"),
                "a body is refused as a whole or for a repeated member: {e:?}"
            );
            return;
        }
    };
    let plan = match batch::plan(&body) {
        Ok(plan) => plan,
        Err(e) => {
            check_field_error(&e);
            return;
        }
    };
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .expect("a planned batch has an items array");
    assert_eq!(plan.len(), items.len());
    assert!((1..=MAX_BATCH_ITEMS).contains(&plan.len()) && !plan.is_empty());

    let seed = seed_of(data);
    let class = ClientIdClass::new((seed % 1024) as usize).expect("a class below 1024");
    let created = plan.execute(&workspace(), class, now(), &mut SeededEntropy::new(seed));
    let again = plan.execute(&workspace(), class, now(), &mut SeededEntropy::new(seed));
    assert_eq!(created, again, "execute is a pure function of its inputs");

    for app in created.apps() {
        check_stored(app);
        assert_eq!(app.client_id.class(), class, "minted in the shard's class");
    }
    let r = &created.response().expect("new apps' secrets are open");
    assert_eq!(r.results.len(), plan.len(), "one result per item");
    assert_eq!(r.success_count + r.error_count, r.results.len());
    assert_eq!(r.success_count, created.apps().count());
    if !plan.continue_on_error() {
        assert_eq!(
            r.error_count, 0,
            "all or nothing: a planned batch is all valid"
        );
    }
    let mut client_ids = HashSet::new();
    for (i, (raw, result)) in items.iter().zip(&r.results).enumerate() {
        assert!(
            result.app.is_some() != result.error.is_some(),
            "item {i} is an app or an error, never both or neither"
        );
        let echoed = raw
            .get("idempotencyKey")
            .and_then(Value::as_str)
            .filter(|k| k.chars().count() <= MAX_ITEM_KEY_CHARS);
        assert_eq!(result.idempotency_key.as_deref(), echoed, "item {i}'s key");
        if let Some(error) = &result.error {
            assert!(matches!(
                error.code,
                ErrorCode::ValidationInvalidParameter | ErrorCode::ValidationMissingParameter
            ));
            let details = error.details.as_ref().expect("an item error has details");
            assert_eq!(details.index, Some(i), "an item error names its index");
            let parameter = details.parameter.as_deref().unwrap_or_default();
            assert!(
                parameter.starts_with(&format!("items[{i}]")),
                "item {i}'s error is under its path: {parameter}"
            );
            assert!(error.message.starts_with(parameter));
        }
        if let Some(app) = &result.app {
            check_app(app);
            let name = raw.get("name").and_then(Value::as_str).unwrap_or_default();
            assert_eq!(app.name, stored_name(name));
            assert_eq!((app.created_at, app.updated_at), (now(), now()));
            assert!(client_ids.insert(app.client_id), "client ids are distinct");
        }
    }

    let wire = serde_json::to_vec(r).expect("the response serializes");
    let back: BatchCreateResponse =
        serde_json::from_slice(&wire).expect("the response deserializes");
    assert_eq!(&back, r, "the response round-trips");
}

/// Reads a request body as the server does (`FromJson`; the raw request types have no
/// serde `Deserialize`, which would accept what the rules refuse), and the request must
/// survive being written back out, as a Rust client sends it.
fn read_request<T>(body: &Value) -> Option<T>
where
    T: FromJson + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let request = match T::from_json(body, "") {
        Ok(request) => request,
        Err(e) => {
            check_field_error(&e);
            return None;
        }
    };
    let wire = serde_json::to_value(&request).expect("a request serializes");
    let back = T::from_json(&wire, "").expect("a serialized request reads back");
    assert_eq!(back, request, "a request round-trips");
    Some(request)
}

/// `app`: `parse_body`, `CreateAppRequest::from_json`, `NewApp::validate`. A valid app
/// mints into an App that holds every stored rule, with the name trimmed, and validating
/// what was stored gives the same app (validation is idempotent).
pub fn app(data: &[u8]) {
    let Ok(body) = parse_body(data) else { return };
    let Some(request) = read_request::<CreateAppRequest>(&body) else {
        return;
    };
    let new = match NewApp::validate(&request, Path::Root) {
        Ok(new) => new,
        Err(e) => {
            check_field_error(&e);
            return;
        }
    };
    let held = new.mint(
        &workspace(),
        ClientIdClass::FIRST,
        now(),
        &mut SeededEntropy::new(seed_of(data)),
    );
    check_stored(&held);
    let app = held.show().expect("a new app's secret is open");
    check_app(&app);
    assert_eq!(app.name, stored_name(&request.name));
    assert!(app.redirect_uris.len() <= request.redirect_uris.as_ref().map_or(0, Vec::len));
    assert_eq!(app.webhook_config.secret, None);
    let stored = CreateAppRequest {
        name: app.name.clone(),
        logo: app.logo.clone(),
        redirect_uris: Some(app.redirect_uris.clone()),
        webhook_config: Some(input_of(&app.webhook_config)),
    };
    let again = NewApp::validate(&stored, Path::Root).expect("what was stored re-validates");
    assert_eq!(again, new, "validation is idempotent");
}

/// The key ring every stored form is sealed with.
fn ring() -> KeyRing {
    KeyRing::parse("fuzz:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
        .expect("a valid ring")
}

/// An app survives its stored form: sealed, written as JSON, read back and opened, it is
/// the same app, and the document holds none of its secrets.
fn check_stored(app: &App<Held>) {
    let ring = ring();
    let doc = app.seal(&ring, &mut SeededEntropy::new(1)).doc();
    let secret = app.client_secret.open().expect("the secret is open");
    assert!(!doc.contains(secret.hex_digits()), "no secret in a doc");
    let back: App<Stored> = serde_json::from_str(&doc).expect("a stored doc reads back");
    assert_eq!(&back.open(&ring), app, "a stored app opens to itself");
}

/// The app every patch is applied to: one redirect URI and a webhook URL; webhooks
/// enabled for half the inputs (so `url: null` is refused for those).
fn base_app(seed: u64) -> App<Held> {
    let request = CreateAppRequest {
        name: "Fuzz App".into(),
        logo: None,
        redirect_uris: Some(vec!["https://fuzz.example/cb".to_owned()]),
        webhook_config: Some(WebhookConfigInput {
            url: Some(Some("https://hooks.fuzz.example/h".to_owned())),
            enabled: Some(seed & 1 == 1),
            ..WebhookConfigInput::default()
        }),
    };
    NewApp::validate(&request, Path::Root)
        .expect("the base app is valid")
        .mint(
            &workspace(),
            ClientIdClass::FIRST,
            now(),
            &mut SeededEntropy::new(seed),
        )
}

/// `patch`: `parse_body`, `UpdateAppRequest::from_json`, `AppPatch::validate`, then
/// `App::<Held>::patched` on a minted app. A patch changes exactly the fields it names and never the identity, secrets,
/// workflows or creation time; it moves `updatedAt` forward; applying it twice changes
/// nothing the second time; the result holds every stored rule and survives the wire.
pub fn patch(data: &[u8]) {
    let Ok(body) = parse_body(data) else { return };
    let Some(patch) = read_request::<UpdateAppRequest>(&body) else {
        return;
    };
    let judged = match AppPatch::validate(&patch) {
        Ok(judged) => judged,
        Err(e) => {
            check_field_error(&e);
            return;
        }
    };
    let old = base_app(seed_of(data));
    let later = Timestamp::from_millis(NOW_MS + 1_000);
    let new = match old.patched(&judged, later) {
        Ok(Some(next)) => next,
        Ok(None) => return,
        Err(e) => {
            check_field_error(&e);
            assert!(
                !e.message.contains("cannot read"),
                "a stored config became unreadable: {e:?}"
            );
            return;
        }
    };
    let mut unmoved = new.clone();
    unmoved.updated_at = old.updated_at;
    assert_ne!(unmoved, old, "a patch that writes changes something");
    assert_eq!(new.client_id, old.client_id);
    assert_eq!(new.organization_id, old.organization_id);
    assert_eq!(new.client_secret, old.client_secret);
    assert_eq!(new.webhook_config.secret, old.webhook_config.secret);
    assert_eq!(new.created_at, old.created_at);
    assert!(new.updated_at > old.updated_at && new.updated_at >= later);

    assert_eq!(new.providers, old.providers);
    assert_eq!(new.workflows, old.workflows);
    assert_eq!(new.default_workflow_id, old.default_workflow_id);
    match &patch.name {
        None => assert_eq!(new.name, old.name),
        Some(name) => assert_eq!(new.name, stored_name(name)),
    }
    match &patch.logo {
        None => assert_eq!(new.logo, old.logo),
        Some(logo) => assert_eq!(&new.logo, logo),
    }
    match &patch.redirect_uris {
        None => assert_eq!(new.redirect_uris, old.redirect_uris),
        Some(uris) => {
            let parsed = RedirectUris::parse(uris, "redirectUris").expect("accepted before");
            assert_eq!(new.redirect_uris, parsed.to_strings());
        }
    }
    match &patch.webhook_config {
        None => assert_eq!(new.webhook_config, old.webhook_config),
        Some(input) => {
            let merged = WebhookSettings::from_config(&old.webhook_config)
                .expect("the base config reads back")
                .merge(input, "webhookConfig")
                .expect("accepted before")
                .to_config(old.webhook_config.secret.clone());
            assert_eq!(new.webhook_config, merged, "webhookConfig is merged");
        }
    }
    for (asked, before, after) in [
        (
            &patch.default_success_redirect_uri,
            &old.default_success_redirect_uri,
            &new.default_success_redirect_uri,
        ),
        (
            &patch.default_failure_redirect_uri,
            &old.default_failure_redirect_uri,
            &new.default_failure_redirect_uri,
        ),
    ] {
        let expected = match asked {
            None => before.clone(),
            Some(None) => None,
            Some(Some(uri)) => Some(
                RedirectUri::parse(uri, "u")
                    .expect("accepted before")
                    .as_str()
                    .to_owned(),
            ),
        };
        assert_eq!(after, &expected);
    }

    let twice = new.patched(&judged, Timestamp::from_millis(NOW_MS + 2_000));
    assert_eq!(
        twice,
        Ok(None),
        "a patch applied twice changes nothing the second time"
    );
    let nothing = WebhookPatch::validate(&WebhookConfigInput::default(), "").expect("empty");
    let noop = new.with_webhook(&nothing, later);
    assert_eq!(
        noop,
        Ok(None),
        "the stored webhook config reads back unchanged"
    );
    check_app(&new.show().expect("the patched app's secret is open"));
    check_stored(&new);
}

/// `redirect_uri`: the bytes as UTF-8 (invalid sequences replaced) into
/// `RedirectUri::parse`. An accepted URI is its own normal form, holds no `#` and no user
/// info, is at most 2048 ASCII characters, differs from the input only in the case of its
/// scheme and host and in its port's leading zeros, and is https (or http on a loopback
/// host).
pub fn redirect_uri(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let uri = match RedirectUri::parse(&raw, "u") {
        Ok(uri) => uri,
        Err(e) => {
            check_field_error(&e);
            assert_eq!(e.parameter, "u");
            return;
        }
    };
    let s = uri.as_str();
    assert_eq!(
        RedirectUri::parse(s, "u").as_ref(),
        Ok(&uri),
        "parsing is idempotent"
    );
    assert!(!s.contains('#'), "no fragment: {s}");
    assert!(s.is_ascii() && s.len() <= MAX_URI_LEN, "{s}");
    let (scheme, authority, path_and_query) = uri_parts(s);
    assert!(!authority.contains('@'), "no user info: {s}");
    assert!(!authority.is_empty(), "a host: {s}");
    assert!(
        !authority.bytes().any(|b| b.is_ascii_uppercase()),
        "scheme and host are lower-cased: {s}"
    );
    let (host, port) = host_and_port(authority);
    match scheme {
        "https" => {}
        "http" => assert!(
            ["localhost", "127.0.0.1", "[::1]"].contains(&host),
            "plain http only on loopback: {s}"
        ),
        other => panic!("scheme {other:?} accepted: {s}"),
    }
    let (raw_scheme, raw_authority, raw_path_and_query) = uri_parts(&raw);
    let (raw_host, raw_port) = host_and_port(raw_authority);
    assert!(
        raw_scheme.eq_ignore_ascii_case(scheme) && raw_host.eq_ignore_ascii_case(host),
        "only the case of the scheme and host changes: {raw:?} -> {s:?}"
    );
    match (raw_port, port) {
        (None, None) => {}
        (Some(sent), Some(kept)) => {
            assert!(
                !kept.starts_with('0') && kept.parse::<u16>().is_ok_and(|p| p >= 1),
                "a port is 1 to 65535 without leading zeros: {s}"
            );
            assert!(
                sent.len() <= 5,
                "a port is sent in at most 5 digits: {raw:?}"
            );
            assert_eq!(sent.trim_start_matches('0'), kept, "{raw:?} -> {s:?}");
        }
        _ => panic!("a port is kept where it was written: {raw:?} -> {s:?}"),
    }
    assert_eq!(
        path_and_query, raw_path_and_query,
        "path and query kept exactly"
    );
    let list = RedirectUris::parse(&[raw.to_string(), s.to_owned()], "redirectUris")
        .expect("a list of accepted URIs is accepted");
    assert_eq!(
        list.to_strings(),
        [s],
        "a URI and its normal form are one URI"
    );
}

/// An absolute URI's scheme, authority, and path and query.
fn uri_parts(uri: &str) -> (&str, &str, &str) {
    let (scheme, rest) = uri.split_once("://").expect("an absolute URL");
    let at = rest.find(['/', '?']).unwrap_or(rest.len());
    (scheme, &rest[..at], &rest[at..])
}

/// An authority's host (an IPv6 literal with its brackets) and port, if it has one.
fn host_and_port(authority: &str) -> (&str, Option<&str>) {
    let host_end = match authority.strip_prefix('[') {
        Some(_) => authority.find(']').expect("a closed IPv6 literal") + 1,
        None => authority.find(':').unwrap_or(authority.len()),
    };
    let (host, port) = authority.split_at(host_end);
    (host, port.strip_prefix(':'))
}

/// `idempotency_key`: the bytes as UTF-8 (lossy) into `IdempotencyKey::parse`, checked
/// against the rule written out independently (1 to 255 visible ASCII characters; a quoted
/// value means the text inside, which may not hold `"` or `\`). And the bytes as a body:
/// `canonical_json` of `parse_body`'s value re-parses to the same value, is stable under
/// re-canonicalisation, and so gives the same fingerprint.
pub fn idempotency_key(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let visible = |s: &str| {
        (1..=MAX_KEY_LEN).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
    };
    let expected = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if raw.len() >= 2 => visible(inner) && !inner.contains(['"', '\\']),
        _ => visible(&raw),
    };
    match IdempotencyKey::parse(&raw) {
        Ok(key) => {
            assert!(expected, "accepted against the rule: {raw:?}");
            let s = key.as_str();
            assert!(visible(s), "a key is 1 to 255 visible ASCII: {s:?}");
            assert!(s == raw || format!("\"{s}\"") == raw, "{raw:?} -> {s:?}");
            let hash = key.hash();
            assert_eq!(hash.len(), 64);
            assert!(hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        Err(e) => {
            assert!(!expected, "refused against the rule: {raw:?}: {e:?}");
            check_field_error(&e);
            assert_eq!(e.parameter, "Idempotency-Key");
        }
    }

    let Ok(value) = parse_body(data) else { return };
    let canonical = canonical_json(&value);
    let back: Value = serde_json::from_str(&canonical)
        .unwrap_or_else(|e| panic!("canonical JSON is JSON: {e}: {canonical}"));
    assert_eq!(
        back, value,
        "canonical JSON re-parses to the same value: {canonical}"
    );
    assert_eq!(canonical_json(&back), canonical, "canonical JSON is stable");
    assert_eq!(
        Fingerprint::of("POST", "/connect/v1/apps", Some(&back)),
        Fingerprint::of("POST", "/connect/v1/apps", Some(&value)),
    );
}

/// How many members the objects of JSON text `data` hold, counted as serde_json reads the
/// text, repeated names included; `None` when serde_json does not read it.
pub fn members_in_text(data: &[u8]) -> Option<usize> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    struct Count<'c>(&'c mut usize);
    impl<'de> DeserializeSeed<'de> for Count<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Count<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Count(&mut *self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_key::<IgnoredAny>()?.is_some() {
                *self.0 += 1;
                map.next_value_seed(Count(&mut *self.0))?;
            }
            Ok(())
        }
    }
    let mut count = 0;
    let mut de = serde_json::Deserializer::from_slice(data);
    Count(&mut count).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(count)
}

/// How many members the objects of `value` hold.
pub fn members_in_value(value: &Value) -> usize {
    match value {
        Value::Object(members) => {
            members.len() + members.values().map(members_in_value).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(members_in_value).sum(),
        _ => 0,
    }
}

/// Whether two values are equal, a number zero being equal to any other zero (the reader
/// reads `-0` as the integer 0, serde_json as the float -0.0).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64() == Some(0.0) && y.as_f64() == Some(0.0))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_value(vx, vy))
        }
        _ => a == b,
    }
}

/// `json`: `parse_body`, the reader of every body. It accepts no text with a repeated
/// member name: the members of what it read are as many as the member names in the text,
/// counted by serde_json without the reader's help. It reads what serde_json reads (the
/// same value but for `-0`, which it reads as the integer 0), refuses what serde_json
/// refuses, and refuses a repeat only where serde_json's last-wins value has fewer members
/// than the text. What it read, written as canonical JSON, reads back to itself.
pub fn json(data: &[u8]) {
    let in_text = members_in_text(data);
    let theirs: Option<Value> = serde_json::from_slice(data).ok();
    match parse_body(data) {
        Ok(value) => {
            assert_eq!(
                Some(members_in_value(&value)),
                in_text,
                "accepted with a repeated member: {:?}",
                String::from_utf8_lossy(data)
            );
            let theirs = theirs.expect("serde_json reads what the reader reads");
            assert!(same_value(&value, &theirs), "{value} against {theirs}");
            let canonical = canonical_json(&value);
            assert_eq!(
                parse_body(canonical.as_bytes()).as_ref(),
                Ok(&value),
                "canonical JSON reads back: {canonical}"
            );
        }
        Err(e) => {
            check_field_error(&e);
            if e.parameter == "body" && !e.message.contains("is given more than once") {
                let blank = data.iter().all(u8::is_ascii_whitespace);
                assert!(
                    theirs.is_none() || blank,
                    "refused what serde_json reads: {e:?}"
                );
            } else {
                assert!(e.message.contains("is given more than once"), "{e:?}");
                if let (Some(theirs), Some(in_text)) = (&theirs, in_text) {
                    assert!(
                        members_in_value(theirs) < in_text,
                        "a repeat reported where there is none: {e:?}"
                    );
                }
            }
        }
    }
}

/// `pagination`: the bytes as a query string (lossy UTF-8) into `PageRequest::from_query`.
/// Accepted: limit 1 to 100, offset at most 2^53 - 1, and the page's own query reads back
/// to it. Refused: a non-empty parameter. `link_header` never panics for any total, links
/// exactly the neighbours that exist, and each link leads to a valid page of the same size
/// (for any total a workspace can reach, at most 2^53 - 1).
pub fn pagination(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let page = match PageRequest::from_query(&query) {
        Ok(page) => page,
        Err(e) => {
            check_field_error(&e);
            return;
        }
    };
    let (limit, offset) = (u64::from(page.limit()), page.offset());
    assert!((1..=MAX_LIMIT).contains(&page.limit()), "{page:?}");
    assert!(offset <= MAX_OFFSET, "{page:?}");
    assert_eq!(PageRequest::new(page.limit(), offset), Ok(page));
    let own = format!("limit={limit}&offset={offset}");
    assert_eq!(PageRequest::from_query(&own), Ok(page));

    let seed = seed_of(data);
    let totals = [
        0,
        1,
        limit - 1,
        limit,
        limit + 1,
        offset.saturating_sub(1),
        offset,
        offset + 1,
        offset + limit - 1,
        offset + limit,
        offset + limit + 1,
        seed % (offset + 2 * limit + 1),
        seed % (MAX_OFFSET + 1),
        MAX_OFFSET,
        MAX_OFFSET + 1,
        seed,
        u64::MAX,
    ];
    for total in totals {
        check_links(page, total);
    }
}

fn check_links(page: PageRequest, total: u64) {
    const PATH: &str = "/connect/v1/apps";
    let (limit, offset) = (u64::from(page.limit()), page.offset());
    let header = page.link_header(PATH, total);
    let has_next = offset + limit < total;
    let has_prev = offset > 0;
    let Some(header) = header else {
        assert!(!has_next && !has_prev, "{page:?} of {total}: links missing");
        return;
    };
    let links: Vec<&str> = header.split(", ").collect();
    assert_eq!(
        links.len(),
        usize::from(has_next) + usize::from(has_prev),
        "{page:?} of {total}: {header}"
    );
    for link in links {
        let (target, rel) = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\""))
            .and_then(|(t, r)| Some((t, r.strip_suffix('"')?)))
            .unwrap_or_else(|| panic!("a malformed link: {link}"));
        let query = target
            .strip_prefix(PATH)
            .and_then(|t| t.strip_prefix('?'))
            .unwrap_or_else(|| panic!("a link to another path: {link}"));
        let to = match rel {
            "next" => {
                assert!(has_next, "{page:?} of {total}: {header}");
                offset + limit
            }
            "prev" => {
                assert!(has_prev, "{page:?} of {total}: {header}");
                offset.min(total).saturating_sub(limit)
            }
            other => panic!("an unknown rel {other:?}: {header}"),
        };
        assert_eq!(
            query,
            format!("limit={limit}&offset={to}"),
            "{page:?} of {total}"
        );
        if rel == "prev" {
            assert!(to < offset, "prev leads back: {page:?} of {total}");
        }
        if total <= MAX_OFFSET {
            let linked = PageRequest::from_query(query)
                .unwrap_or_else(|e| panic!("a link leads to a refused page: {link}: {e:?}"));
            assert_eq!((u64::from(linked.limit()), linked.offset()), (limit, to));
        }
    }
}
