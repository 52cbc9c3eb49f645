CREATE TABLE "assignments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"person_id" uuid NOT NULL,
	"role" text NOT NULL,
	"valid_from" timestamp with time zone,
	"valid_until" timestamp with time zone,
	"reason" text NOT NULL,
	"origin" text DEFAULT 'manual' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by" text
);
--> statement-breakpoint
CREATE TABLE "entitlements" (
	"id" uuid PRIMARY KEY NOT NULL,
	"target_id" uuid NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"object_id" text NOT NULL,
	"object_name" text NOT NULL,
	"display_name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"privileged" boolean DEFAULT false NOT NULL,
	"owner" text,
	"monthly_cost" numeric(12, 2),
	"origin" text NOT NULL,
	"missing_since" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"version" bigserial PRIMARY KEY NOT NULL,
	"document" jsonb NOT NULL,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"target_id" uuid NOT NULL,
	"person_id" uuid,
	"object_id" text NOT NULL,
	"name" text NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"enabled" boolean NOT NULL,
	"memberships" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"state" text NOT NULL,
	"quarantine_until" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "change_ops" (
	"id" uuid PRIMARY KEY NOT NULL,
	"change_set_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"person_id" uuid,
	"target_id" uuid NOT NULL,
	"account_id" uuid,
	"kind" text NOT NULL,
	"summary" text NOT NULL,
	"payload" jsonb NOT NULL,
	"before" jsonb,
	"noop" boolean DEFAULT false NOT NULL,
	"reversible" boolean DEFAULT true NOT NULL,
	"irreversible_reason" text,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" jsonb,
	"triggered_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"done_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "change_sets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"title" text NOT NULL,
	"trigger" text NOT NULL,
	"trigger_refs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text NOT NULL,
	"approval_reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"blocked" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"people_count" integer NOT NULL,
	"op_count" integer NOT NULL,
	"policy_version" integer NOT NULL,
	"triggered_at" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"decision_note" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"undo_of" uuid,
	"undone_by" uuid
);
--> statement-breakpoint
ALTER TABLE "entitlements" ADD CONSTRAINT "entitlements_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_ops" ADD CONSTRAINT "change_ops_change_set_id_change_sets_id_fk" FOREIGN KEY ("change_set_id") REFERENCES "public"."change_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "assignments_person_idx" ON "assignments" USING btree ("person_id") WHERE "assignments"."revoked_at" is null;--> statement-breakpoint
CREATE INDEX "assignments_expiry_idx" ON "assignments" USING btree ("valid_until") WHERE "assignments"."revoked_at" is null and "assignments"."valid_until" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "entitlements_target_key_idx" ON "entitlements" USING btree ("target_id","key");--> statement-breakpoint
CREATE INDEX "entitlements_target_object_idx" ON "entitlements" USING btree ("target_id","object_id");--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_target_object_idx" ON "accounts" USING btree ("target_id","object_id") WHERE "accounts"."state" <> 'deleted';--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_person_target_idx" ON "accounts" USING btree ("person_id","target_id") WHERE "accounts"."state" <> 'deleted' and "accounts"."person_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "change_ops_set_seq_idx" ON "change_ops" USING btree ("change_set_id","seq");--> statement-breakpoint
CREATE INDEX "change_ops_done_idx" ON "change_ops" USING btree ("done_at") WHERE "change_ops"."status" = 'done';--> statement-breakpoint
CREATE INDEX "change_ops_person_idx" ON "change_ops" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "change_sets_seq_idx" ON "change_sets" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "change_sets_status_idx" ON "change_sets" USING btree ("status","seq");