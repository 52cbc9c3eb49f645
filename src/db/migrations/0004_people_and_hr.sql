CREATE TABLE "hr_import_errors" (
	"import_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"row" integer NOT NULL,
	"column" text NOT NULL,
	"value" text,
	"code" text NOT NULL,
	"message" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hr_import_files" (
	"import_id" uuid PRIMARY KEY NOT NULL,
	"content" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hr_imports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"origin" text NOT NULL,
	"file_name" text,
	"sha256" text,
	"rows" integer NOT NULL,
	"state" text NOT NULL,
	"summary" jsonb NOT NULL,
	"held_reason" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"decided_by" text,
	"applied_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "hr_sources" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"mapping" jsonb NOT NULL,
	"full_export" boolean DEFAULT false NOT NULL,
	"all_or_nothing" boolean DEFAULT false NOT NULL,
	"brake_ratio" real DEFAULT 0.05 NOT NULL,
	"brake_min_count" integer DEFAULT 3 NOT NULL,
	"lead_time_days" integer DEFAULT 7 NOT NULL,
	"default_time_zone" text DEFAULT 'UTC' NOT NULL,
	"header_fingerprint" text,
	"drop_folder" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "hr_sources_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "lifecycle_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"person_id" uuid NOT NULL,
	"type" text NOT NULL,
	"changes" jsonb,
	"effective_at" timestamp with time zone NOT NULL,
	"state" text NOT NULL,
	"import_id" uuid,
	"job_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"done_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "people" (
	"id" uuid PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"employee_id" text NOT NULL,
	"first_name" text NOT NULL,
	"last_name" text NOT NULL,
	"preferred_name" text,
	"department" text,
	"title" text,
	"cost_center" text,
	"location" text,
	"time_zone" text,
	"manager_employee_id" text,
	"worker_type" text NOT NULL,
	"hr_status" text,
	"status" text NOT NULL,
	"hire_date" date,
	"termination_date" text,
	"termination_at" timestamp with time zone,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"username" text,
	"work_email" text,
	"display_name" text NOT NULL,
	"search_text" text DEFAULT '' NOT NULL,
	"hr_hash" text NOT NULL,
	"merged_into" uuid,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "person_duplicates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"person_a" uuid NOT NULL,
	"person_b" uuid NOT NULL,
	"score" real NOT NULL,
	"reasons" jsonb NOT NULL,
	"state" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" text
);
--> statement-breakpoint
CREATE TABLE "person_personal" (
	"person_id" uuid PRIMARY KEY NOT NULL,
	"personal_email" text,
	"mobile_phone" text,
	"birth_date" date
);
--> statement-breakpoint
CREATE TABLE "name_registry" (
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"person_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"released_at" timestamp with time zone,
	"reusable_after" timestamp with time zone,
	CONSTRAINT "name_registry_kind_value_pk" PRIMARY KEY("kind","value")
);
--> statement-breakpoint
ALTER TABLE "hr_import_errors" ADD CONSTRAINT "hr_import_errors_import_id_hr_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."hr_imports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hr_import_files" ADD CONSTRAINT "hr_import_files_import_id_hr_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."hr_imports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hr_imports" ADD CONSTRAINT "hr_imports_source_id_hr_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."hr_sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "person_duplicates" ADD CONSTRAINT "person_duplicates_person_a_people_id_fk" FOREIGN KEY ("person_a") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "person_duplicates" ADD CONSTRAINT "person_duplicates_person_b_people_id_fk" FOREIGN KEY ("person_b") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "person_personal" ADD CONSTRAINT "person_personal_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "hr_import_errors_import_idx" ON "hr_import_errors" USING btree ("import_id","seq");--> statement-breakpoint
CREATE INDEX "hr_imports_source_idx" ON "hr_imports" USING btree ("source_id","created_at");--> statement-breakpoint
CREATE INDEX "lifecycle_events_person_idx" ON "lifecycle_events" USING btree ("person_id","effective_at");--> statement-breakpoint
CREATE INDEX "lifecycle_events_scheduled_idx" ON "lifecycle_events" USING btree ("effective_at") WHERE "lifecycle_events"."state" in ('scheduled', 'pending');--> statement-breakpoint
CREATE UNIQUE INDEX "people_source_employee_idx" ON "people" USING btree ("source_id","employee_id");--> statement-breakpoint
CREATE INDEX "people_status_idx" ON "people" USING btree ("status");--> statement-breakpoint
CREATE INDEX "people_department_idx" ON "people" USING btree ("department");--> statement-breakpoint
CREATE INDEX "people_worker_type_idx" ON "people" USING btree ("worker_type");--> statement-breakpoint
CREATE INDEX "people_hire_date_idx" ON "people" USING btree ("hire_date");--> statement-breakpoint
CREATE INDEX "people_name_sort_idx" ON "people" USING btree ("last_name","first_name","id");--> statement-breakpoint
CREATE INDEX "people_manager_idx" ON "people" USING btree ("manager_employee_id");--> statement-breakpoint
CREATE INDEX "people_search_trgm_idx" ON "people" USING gin ("search_text" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "person_duplicates_pair_idx" ON "person_duplicates" USING btree ("person_a","person_b");--> statement-breakpoint
CREATE INDEX "person_duplicates_state_idx" ON "person_duplicates" USING btree ("state");--> statement-breakpoint
CREATE INDEX "person_personal_email_idx" ON "person_personal" USING btree ("personal_email");--> statement-breakpoint
CREATE INDEX "person_personal_mobile_idx" ON "person_personal" USING btree ("mobile_phone");--> statement-breakpoint
CREATE INDEX "person_personal_birth_idx" ON "person_personal" USING btree ("birth_date");--> statement-breakpoint
CREATE INDEX "name_registry_person_idx" ON "name_registry" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "name_registry_base_idx" ON "name_registry" USING btree ("kind",regexp_replace("value", '[0-9]+(@|$)', '\1'));