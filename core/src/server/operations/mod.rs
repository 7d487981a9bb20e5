//! The writes of the API, each an [`Operation`](super::perform::Operation) that
//! [`perform`](super::perform::perform) carries out: creating apps ([`apps`]), changing
//! and deleting one ([`app`]), the operators' workspaces and keys ([`workspaces`]). The
//! re-seal's chunk is in [`super::reseal`].

pub mod app;
pub mod apps;
pub mod workspaces;
