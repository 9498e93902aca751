CREATE TABLE "setup_codes" (
	"id" text PRIMARY KEY NOT NULL,
	"code_hash" text NOT NULL,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_logs" ADD COLUMN "feed_tx" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "sign_in_attempts" ADD COLUMN "risk_warning" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "country_code" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "city" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "latitude" double precision;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "longitude" double precision;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "accuracy_km" integer;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "risk_level" text;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "risk_signals" jsonb;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "feed_tx" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "risk_state" text DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "risk_detail" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "risk_updated_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "audit_logs_feed_idx" ON "audit_logs" USING btree ("tenant_id","feed_tx","id");--> statement-breakpoint
CREATE INDEX "sign_in_logs_user_success_idx" ON "sign_in_logs" USING btree ("user_id","created_at") WHERE "sign_in_logs"."status" = 'SUCCESS';--> statement-breakpoint
CREATE INDEX "sign_in_logs_feed_idx" ON "sign_in_logs" USING btree ("tenant_id","feed_tx","id");