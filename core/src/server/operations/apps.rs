//! Creating apps: `POST /apps` (one) and `POST /apps/batch` (1 to 100 in one transaction).
//! Each attempt mints afresh (new client ids, new secrets), so an attempt refused because
//! a minted id was taken is simply made again.

use crate::rules::app::NewApp;
use crate::rules::batch::BatchPlan;
use crate::server::failure::Failure;
use crate::server::perform::{Attempt, Backend, Operation, Tools, Write};
use crate::server::recorded::RecordedResponse;
use crate::server::row::Stored;
use crate::server::session::Session;
use crate::server::shards::ClientIdClass;
use crate::server::tables::apps;
use crate::wire::app::App;
use crate::wire::ids::WorkspaceId;
use crate::wire::routes::RouteName;

/// `POST /apps`: one app.
#[derive(Debug, Clone)]
pub struct CreateApp {
    workspace: WorkspaceId,
    new: NewApp,
    class: ClientIdClass,
}

impl CreateApp {
    /// `new` in `workspace`, whose shard mints client ids of `class`.
    pub fn new(workspace: WorkspaceId, new: NewApp, class: ClientIdClass) -> Self {
        Self {
            workspace,
            new,
            class,
        }
    }
}

impl<B: Backend> Operation<B> for CreateApp {
    async fn attempt(
        &mut self,
        _db: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let app = self
            .new
            .mint(&self.workspace, self.class, tools.now, tools.random);
        let stored = app.seal(tools.ring, tools.random);
        let shown = app.show()?;
        let location = RouteName::App.spec().path_with(shown.client_id);
        Ok(Attempt::Write(Write::new(
            apps::insert(&self.workspace, &[stored])?,
            RecordedResponse::json(201, &shown)?.with_header("location", location),
        )))
    }
}

/// `POST /apps/batch`.
#[derive(Debug, Clone)]
pub struct BatchCreate {
    workspace: WorkspaceId,
    plan: BatchPlan,
    class: ClientIdClass,
}

impl BatchCreate {
    /// `plan` in `workspace`, whose shard mints client ids of `class`.
    pub fn new(workspace: WorkspaceId, plan: BatchPlan, class: ClientIdClass) -> Self {
        Self {
            workspace,
            plan,
            class,
        }
    }
}

impl<B: Backend> Operation<B> for BatchCreate {
    async fn attempt(
        &mut self,
        _db: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let outcome = self
            .plan
            .execute(&self.workspace, self.class, tools.now, tools.random);
        let stored: Vec<App<Stored>> = outcome
            .apps()
            .map(|app| app.seal(tools.ring, tools.random))
            .collect();
        Ok(Attempt::Write(Write::new(
            apps::insert(&self.workspace, &stored)?,
            RecordedResponse::json(201, &outcome.response()?)?,
        )))
    }
}
