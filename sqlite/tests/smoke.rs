use connect_core::rules::batch;
use connect_core::rules::pagination::PageRequest;
use connect_core::server::admin::CreatedWorkspace;
use connect_core::server::operations::apps::BatchCreate;
use connect_core::server::operations::workspaces::CreateWorkspace;
use connect_core::server::perform::{perform, Tools, WriteRequest, OPERATORS};
use connect_core::server::seal::KeyRing;
use connect_core::server::shards::ClientIdClass;
use connect_core::server::tables::apps::{self, Listing};
use connect_core::test_util::SeededEntropy;
use connect_core::wire::secrets::KeyEnvironment;
use connect_sqlite::{block_on, system_now, MemoryKv, Native, Shards};
use serde_json::json;

#[test]
fn a_workspace_a_batch_and_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let shards = Shards::create(dir.path(), &["SHARD_1", "SHARD_2"]).unwrap();
    let ring = KeyRing::parse(&format!("k1:{}", "ab".repeat(32))).unwrap();
    let native = Native::new(&shards, Some(MemoryKv::new()));
    let mut random = SeededEntropy::new(7);
    let mut tools = Tools {
        backend: &native,
        ring: &ring,
        now: system_now(),
        random: &mut random,
    };
    let directory = connect_core::server::perform::Backend::shard(&native, "SHARD_1").unwrap();
    let created = block_on(perform(
        &directory,
        &mut tools,
        WriteRequest {
            method: "POST",
            path: "/admin/v1/workspaces",
            body: None,
            key: Some("first"),
            scope: OPERATORS,
        },
        Ok(CreateWorkspace::new("SHARD_2".into(), KeyEnvironment::Test)),
    ))
    .unwrap();
    assert_eq!(created.answer.status, 201);
    let ws: CreatedWorkspace = serde_json::from_str(&created.answer.body).unwrap();
    let shard = connect_core::server::perform::Backend::shard(&native, "SHARD_2").unwrap();
    let body = json!({"items": [{"name": "A"}, {"name": "B"}]});
    let plan = batch::plan(&body).unwrap();
    let op = BatchCreate::new(
        ws.workspace.id.clone(),
        plan,
        ClientIdClass::new(1).unwrap(),
    );
    let done = block_on(perform(
        &shard,
        &mut tools,
        WriteRequest {
            method: "POST",
            path: "/connect/v1/apps/batch",
            body: Some(&body),
            key: Some("b1"),
            scope: ws.workspace.id.as_str(),
        },
        Ok(op.clone()),
    ))
    .unwrap();
    assert_eq!(done.answer.status, 201);
    assert!(!done.replayed);
    let again = block_on(perform(
        &shard,
        &mut tools,
        WriteRequest {
            method: "POST",
            path: "/connect/v1/apps/batch",
            body: Some(&body),
            key: Some("b1"),
            scope: ws.workspace.id.as_str(),
        },
        Ok(op),
    ))
    .unwrap();
    assert!(again.replayed);
    assert_eq!(again.answer, done.answer);
    let page = PageRequest::from_query("limit=10").unwrap();
    match block_on(apps::list(&shard, &ws.workspace.id, page, None)).unwrap() {
        Listing::Fresh { total, apps, .. } => {
            assert_eq!(total, 2);
            assert_eq!(apps.len(), 2);
        }
        Listing::Unchanged => panic!("unchanged"),
    }
}
