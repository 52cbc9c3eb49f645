CREATE TABLE "findings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"status" text NOT NULL,
	"target_id" uuid NOT NULL,
	"person_id" uuid,
	"object_id" uuid,
	"entitlement_id" uuid,
	"summary" text NOT NULL,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"fix" text NOT NULL,
	"monthly_cost" numeric(12, 2),
	"opened_at" timestamp with time zone NOT NULL,
	"opened_run_id" uuid NOT NULL,
	"last_seen_run_id" uuid NOT NULL,
	"closed_at" timestamp with time zone,
	"closed_run_id" uuid,
	"accepted_by" text,
	"accepted_at" timestamp with time zone,
	"accepted_until" timestamp with time zone,
	"justification" text,
	"change_set_id" uuid
);
--> statement-breakpoint
CREATE TABLE "recon_objects" (
	"id" uuid PRIMARY KEY NOT NULL,
	"target_id" uuid NOT NULL,
	"object_id" text NOT NULL,
	"name" text NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"enabled" boolean,
	"locked" boolean,
	"member_of" text[] DEFAULT '{}'::text[] NOT NULL,
	"last_login_at" timestamp with time zone,
	"hash" text NOT NULL,
	"person_id" uuid,
	"link" text,
	"link_detail" text,
	"suggested_person_id" uuid,
	"suggestion_score" real,
	"first_seen_at" timestamp with time zone NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	"gone_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "recon_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"target_id" uuid NOT NULL,
	"mode" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"findings_opened" integer DEFAULT 0 NOT NULL,
	"findings_closed" integer DEFAULT 0 NOT NULL,
	"reason" text,
	"started_by" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recon_objects" ADD CONSTRAINT "recon_objects_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recon_runs" ADD CONSTRAINT "recon_runs_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "findings_seq_idx" ON "findings" USING btree ("seq");--> statement-breakpoint
CREATE UNIQUE INDEX "findings_live_key_idx" ON "findings" USING btree ("key") WHERE "findings"."status" <> 'closed';--> statement-breakpoint
CREATE INDEX "findings_target_status_idx" ON "findings" USING btree ("target_id","status","seq");--> statement-breakpoint
CREATE INDEX "findings_person_idx" ON "findings" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "recon_objects_target_object_idx" ON "recon_objects" USING btree ("target_id","object_id");--> statement-breakpoint
CREATE INDEX "recon_objects_person_idx" ON "recon_objects" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "recon_runs_seq_idx" ON "recon_runs" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "recon_runs_target_idx" ON "recon_runs" USING btree ("target_id","seq");