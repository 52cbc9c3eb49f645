-- Indexes a bulk HR import pays for on every row. Nothing reads audit_personal_values by event_seq (events find
-- their values by ref, erasure by data subject).
DROP INDEX "audit_personal_values_event_idx";--> statement-breakpoint
DROP INDEX "name_registry_base_idx";--> statement-breakpoint
-- Values in byte order whatever the database's locale: every variant of a name ("jane.doe", "jane.doe7") is then one
-- range of the primary key, and the expression index above is not needed.
ALTER TABLE "name_registry" ALTER COLUMN "value" TYPE text COLLATE "C";
