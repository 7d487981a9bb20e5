//! Changing one app: PATCH, the redirect URIs, the webhook config, the secret rotations,
//! and DELETE. A change reads the app, lets the rules compute the changed app and the
//! answer, and writes it only if the app is still at the version it read; `perform`
//! attempts again when another change came first.

use crate::rules::random::Entropy;
use crate::server::app::Held;
use crate::server::failure::Failure;
use crate::server::perform::{Attempt, Backend, Operation, Tools, Write};
use crate::server::recorded::RecordedResponse;
use crate::server::session::Session;
use crate::server::tables::apps::{self, VersionedApp};
use crate::wire::app::{App, DeletedApp};
use crate::wire::ids::{ClientId, WorkspaceId};
use crate::wire::time::Timestamp;

/// The 404 of an app that is not in the workspace. The id is echoed only once known to be
/// well formed, so a hostile path segment is never reflected.
pub fn not_found(id: &str) -> Failure {
    match ClientId::parse(id) {
        Ok(id) => Failure::NotFound(format!("no app {id} in this workspace")),
        Err(_) => Failure::NotFound("no such app in this workspace".into()),
    }
}

/// The stored app `id` of `workspace`, or 404.
pub async fn read<D: crate::server::storage::Database>(
    db: &Session<D>,
    workspace: &WorkspaceId,
    id: &str,
) -> Result<VersionedApp, Failure> {
    let client_id = ClientId::parse(id).map_err(|_| not_found(id))?;
    apps::read_app(db, workspace, &client_id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// What a change has at hand: the time of the request and its randomness.
pub struct ChangeTools<'a> {
    /// When the request arrived.
    pub now: Timestamp,
    /// Randomness for new secrets.
    pub random: &'a mut dyn Entropy,
}

/// A change of one app: the changed app (`None`: nothing changes) and the answer.
pub type Change = (Option<App<Held>>, RecordedResponse);

/// A change of one app: reads it, lets `change` derive the changed app and the answer,
/// and writes the changed app only if it is still at the version read.
pub struct ChangeApp<F> {
    workspace: WorkspaceId,
    id: String,
    change: F,
}

impl<F> ChangeApp<F>
where
    F: FnMut(&App<Held>, &mut ChangeTools<'_>) -> Result<Change, Failure>,
{
    /// App `id` of `workspace`, changed by `change`.
    pub fn new(workspace: WorkspaceId, id: &str, change: F) -> Self {
        Self {
            workspace,
            id: id.to_owned(),
            change,
        }
    }
}

impl<B: Backend, F> Operation<B> for ChangeApp<F>
where
    F: FnMut(&App<Held>, &mut ChangeTools<'_>) -> Result<Change, Failure>,
{
    async fn attempt(
        &mut self,
        db: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let stored = read(db, &self.workspace, &self.id).await?;
        let current = stored.app.open(tools.ring);
        let mut at = ChangeTools {
            now: tools.now,
            random: tools.random,
        };
        let (next, answer) = (self.change)(&current, &mut at)?;
        let Some(next) = next else {
            return Ok(Attempt::Answer(answer));
        };
        let sealed = next.seal(tools.ring, tools.random);
        Ok(Attempt::Write(Write::new(
            apps::update(&self.workspace, &sealed, stored.version)?,
            answer,
        )))
    }
}

/// `DELETE /apps/{clientId}`: deletes the version it read.
#[derive(Debug, Clone)]
pub struct DeleteApp {
    workspace: WorkspaceId,
    id: String,
}

impl DeleteApp {
    /// App `id` of `workspace`.
    pub fn new(workspace: WorkspaceId, id: &str) -> Self {
        Self {
            workspace,
            id: id.to_owned(),
        }
    }
}

impl<B: Backend> Operation<B> for DeleteApp {
    async fn attempt(
        &mut self,
        db: &Session<B::Db>,
        _tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let current = read(db, &self.workspace, &self.id).await?;
        let answer = RecordedResponse::json(
            200,
            &DeletedApp {
                client_id: current.app.client_id,
                deleted: true,
            },
        )?;
        Ok(Attempt::Write(Write::new(
            apps::delete(&self.workspace, &current),
            answer,
        )))
    }
}
