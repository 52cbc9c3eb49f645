DROP INDEX "people_status_idx";--> statement-breakpoint
DROP INDEX "people_worker_type_idx";--> statement-breakpoint
DROP INDEX "audit_events_occurred_idx";--> statement-breakpoint
DROP INDEX "audit_events_correlation_idx";--> statement-breakpoint
ALTER TABLE "people" ADD COLUMN "row_hash" text;--> statement-breakpoint
CREATE INDEX "audit_events_occurred_idx" ON "audit_events" USING brin ("occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_correlation_idx" ON "audit_events" USING btree ("correlation_id") WHERE "audit_events"."correlation_id" is not null;