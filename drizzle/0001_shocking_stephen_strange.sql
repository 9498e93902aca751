ALTER TABLE "audit_logs" ADD COLUMN "feed_tx" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "sign_in_logs" ADD COLUMN "feed_tx" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "risk_state" text DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "risk_detail" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "risk_updated_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "audit_logs_feed_idx" ON "audit_logs" USING btree ("tenant_id","feed_tx","id");--> statement-breakpoint
CREATE INDEX "sign_in_logs_feed_idx" ON "sign_in_logs" USING btree ("tenant_id","feed_tx","id");