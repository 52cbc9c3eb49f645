CREATE TABLE "manual_objects" (
	"target_id" uuid NOT NULL,
	"object_class" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"attributes" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"locked" boolean DEFAULT false NOT NULL,
	"member_of" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"change_seq" bigserial NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "manual_objects_pk" PRIMARY KEY("target_id","object_class","id")
);
--> statement-breakpoint
CREATE TABLE "manual_tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"target_id" uuid NOT NULL,
	"operation" text NOT NULL,
	"object_class" text NOT NULL,
	"object_id" text NOT NULL,
	"object_name" text,
	"summary" text NOT NULL,
	"details" jsonb NOT NULL,
	"status" text NOT NULL,
	"note" text,
	"completed_by" text,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "targets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"connector" text NOT NULL,
	"config" jsonb NOT NULL,
	"secret_names" text[] DEFAULT '{}'::text[] NOT NULL,
	"secrets" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"last_test_at" timestamp with time zone,
	"last_test_ok" boolean,
	"last_test_code" text,
	"last_test_message" text,
	"created_at" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"updated_by" text NOT NULL,
	CONSTRAINT "targets_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "manual_objects" ADD CONSTRAINT "manual_objects_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "manual_tasks" ADD CONSTRAINT "manual_tasks_target_id_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "manual_objects_name_idx" ON "manual_objects" USING btree ("target_id","object_class",lower("name")) WHERE not "manual_objects"."deleted";--> statement-breakpoint
CREATE INDEX "manual_objects_change_idx" ON "manual_objects" USING btree ("target_id","change_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "manual_tasks_seq_idx" ON "manual_tasks" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "manual_tasks_open_idx" ON "manual_tasks" USING btree ("target_id","seq") WHERE "manual_tasks"."status" = 'open';--> statement-breakpoint
CREATE INDEX "manual_tasks_object_idx" ON "manual_tasks" USING btree ("target_id","object_class","object_id");--> statement-breakpoint
CREATE INDEX "manual_tasks_status_idx" ON "manual_tasks" USING btree ("status","seq");