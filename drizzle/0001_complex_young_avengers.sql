ALTER TABLE "sign_in_attempts" ADD COLUMN "risk_warning" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "country_code" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "city" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "latitude" double precision;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "longitude" double precision;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "accuracy_km" integer;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "risk_level" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "risk_signals" jsonb;--> statement-breakpoint
CREATE INDEX "sign_in_logs_user_success_idx" ON "sign_in_logs" USING btree ("user_id","created_at") WHERE "sign_in_logs"."status" = 'SUCCESS';