CREATE TABLE "oidc_records" (
	"model" text NOT NULL,
	"id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"expires_at" timestamp with time zone,
	"grant_id" text,
	"uid" text,
	"user_code" text,
	"account_id" text,
	"tenant_id" uuid,
	"consumed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "oidc_records_model_id_pk" PRIMARY KEY("model","id")
);
--> statement-breakpoint
CREATE TABLE "oidc_session_links" (
	"oidc_session_uid" text PRIMARY KEY NOT NULL,
	"sign_in_session_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
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
ALTER TABLE "oidc_records" ADD CONSTRAINT "oidc_records_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "oidc_session_links" ADD CONSTRAINT "oidc_session_links_sign_in_session_id_sessions_id_fk" FOREIGN KEY ("sign_in_session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "oidc_records_grant_idx" ON "oidc_records" USING btree ("grant_id");--> statement-breakpoint
CREATE INDEX "oidc_records_uid_idx" ON "oidc_records" USING btree ("model","uid");--> statement-breakpoint
CREATE INDEX "oidc_records_user_code_idx" ON "oidc_records" USING btree ("model","user_code");--> statement-breakpoint
CREATE INDEX "oidc_records_account_idx" ON "oidc_records" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "oidc_records_tenant_idx" ON "oidc_records" USING btree ("tenant_id") WHERE "oidc_records"."model" = 'Client';--> statement-breakpoint
CREATE INDEX "oidc_records_expiry_idx" ON "oidc_records" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "oidc_session_links_session_idx" ON "oidc_session_links" USING btree ("sign_in_session_id");--> statement-breakpoint
CREATE INDEX "audit_logs_feed_idx" ON "audit_logs" USING btree ("tenant_id","feed_tx","id");--> statement-breakpoint
CREATE INDEX "sign_in_logs_user_success_idx" ON "sign_in_logs" USING btree ("user_id","created_at") WHERE "sign_in_logs"."status" = 'SUCCESS';--> statement-breakpoint
CREATE INDEX "sign_in_logs_feed_idx" ON "sign_in_logs" USING btree ("tenant_id","feed_tx","id");