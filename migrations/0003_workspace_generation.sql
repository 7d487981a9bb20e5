-- A workspace's generation: moves with every change to its apps, in the same transaction.
--
-- A Worker isolate keeps rendered list pages (connect_core::page_cache) and serves one only
-- if the generation it was rendered at is still current; the list query reads the
-- generation and returns the page's rows only when it moved. So a kept page is never stale,
-- and an unchanged page costs the database one row.
--
-- Inserts and deletes move it in the statements that keep apps_count (worker/src/store/d1.rs);
-- every update of an app moves it through the trigger below, whatever statement made it.
ALTER TABLE workspaces ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER apps_update_moves_generation AFTER UPDATE ON apps
BEGIN
  UPDATE workspaces SET generation = generation + 1 WHERE id = NEW.workspace_id;
END;
