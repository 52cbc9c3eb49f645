-- Partial indexes: a null is never a match. Many HR files carry no mobile or birth date, and only people pushed over
-- SCIM have an externalId, so a bulk import no longer writes an index entry for each missing value. Lookups compare
-- with `=` (or `is not null`), which implies the predicate, so they still use the indexes.
DROP INDEX "people_scim_external_id_idx";--> statement-breakpoint
DROP INDEX "person_personal_email_idx";--> statement-breakpoint
DROP INDEX "person_personal_mobile_idx";--> statement-breakpoint
DROP INDEX "person_personal_birth_idx";--> statement-breakpoint
CREATE INDEX "people_scim_external_id_idx" ON "people" USING btree (("attributes" ->> 'scim.externalId')) WHERE ("people"."attributes" ->> 'scim.externalId') is not null;--> statement-breakpoint
CREATE INDEX "person_personal_email_idx" ON "person_personal" USING btree ("personal_email") WHERE "person_personal"."personal_email" is not null;--> statement-breakpoint
CREATE INDEX "person_personal_mobile_idx" ON "person_personal" USING btree ("mobile_phone") WHERE "person_personal"."mobile_phone" is not null;--> statement-breakpoint
CREATE INDEX "person_personal_birth_idx" ON "person_personal" USING btree ("birth_date") WHERE "person_personal"."birth_date" is not null;