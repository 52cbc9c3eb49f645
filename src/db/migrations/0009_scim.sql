CREATE TABLE "person_group_members" (
	"group_id" uuid NOT NULL,
	"person_id" uuid NOT NULL,
	"display" text
);
--> statement-breakpoint
CREATE TABLE "person_groups" (
	"id" uuid PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"display_name" text NOT NULL,
	"external_id" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "people" ADD COLUMN "scim_deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "scim" jsonb;--> statement-breakpoint
ALTER TABLE "person_group_members" ADD CONSTRAINT "person_group_members_group_id_person_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."person_groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "person_group_members" ADD CONSTRAINT "person_group_members_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "person_group_members_pk" ON "person_group_members" USING btree ("group_id","person_id");--> statement-breakpoint
CREATE INDEX "person_group_members_person_idx" ON "person_group_members" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "person_groups_source_idx" ON "person_groups" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "person_groups_name_idx" ON "person_groups" USING btree (lower(("display_name") collate "und-x-icu"));--> statement-breakpoint
CREATE INDEX "people_scim_username_idx" ON "people" USING btree (lower((coalesce("attributes" ->> 'scim.userName', "username")) collate "und-x-icu"));--> statement-breakpoint
CREATE INDEX "people_scim_external_id_idx" ON "people" USING btree (("attributes" ->> 'scim.externalId'));