import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795664306714 implements MigrationInterface {
  name = 'Initial1795664306714';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "checkpoints" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "name" text NOT NULL, "base_model" text NOT NULL, "uri" text NOT NULL, "onnx_uri" text, "parent_id" integer, "produced_by_run_id" integer, "metadata" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "UQ_bc58f402866bbff71835c62942e" UNIQUE ("name"), CONSTRAINT "PK_dfcc46a91d96ecba8a8dcd8b11c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_checkpoints_run" ON "checkpoints"  ("produced_by_run_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_checkpoints_parent" ON "checkpoints"  ("parent_id") `,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."manifest_purpose" AS ENUM('PROBE', 'BRIDGE', 'SFT', 'RL', 'CRITIQUE', 'EVAL')`,
    );
    await queryRunner.query(
      `CREATE TABLE "manifests" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "purpose" "public"."manifest_purpose" NOT NULL, "item_count" integer NOT NULL DEFAULT '0', "sha256" character(64), "frozen_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_fb41b22d800467667616837784b" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."bridge_strategy" AS ENUM('NONE', 'SELECT', 'HINT', 'REWRITE')`,
    );
    await queryRunner.query(
      `CREATE TABLE "routing_policies" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "name" text NOT NULL, "version" integer NOT NULL, "k" integer NOT NULL, "temperature" double precision NOT NULL, "tau_low" double precision NOT NULL, "tau_high" double precision NOT NULL, "min_attempts" integer NOT NULL, "replay_fraction" double precision NOT NULL, "bridge_strategy" "public"."bridge_strategy" NOT NULL, "bridge_options" jsonb NOT NULL DEFAULT '{}', "seed" integer NOT NULL, CONSTRAINT "uq_routing_policies_name_version" UNIQUE ("name", "version"), CONSTRAINT "PK_87cfef7b7ad9c5540ddc3599c07" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."curriculum_phase" AS ENUM('PENDING', 'PROBE', 'ROUTE', 'BRIDGE', 'SFT', 'REPROBE', 'RL', 'CRITIQUE', 'EVAL', 'DONE')`,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."curriculum_status" AS ENUM('ACTIVE', 'PAUSED', 'SUCCEEDED', 'CANCELLED')`,
    );
    await queryRunner.query(
      `CREATE TABLE "curricula" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "name" text NOT NULL, "base_checkpoint_id" integer NOT NULL, "policy_id" integer NOT NULL, "rounds" integer NOT NULL, "current_round" integer NOT NULL DEFAULT '0', "phase" "public"."curriculum_phase" NOT NULL DEFAULT 'PENDING', "status" "public"."curriculum_status" NOT NULL DEFAULT 'ACTIVE', "pause_reason" text, "launcher" text NOT NULL DEFAULT 'local', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_5a1d228c4fe5cb79fb9d3d4a0e6" UNIQUE ("name"), CONSTRAINT "PK_7c5dd2066e2bbf3b6ad0a71c567" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_curricula_status" ON "curricula"  ("status") `);
    await queryRunner.query(
      `CREATE TYPE "public"."run_stage" AS ENUM('PROBE', 'BRIDGE', 'SFT', 'RL', 'CRITIQUE', 'EVAL')`,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."run_status" AS ENUM('QUEUED', 'STARTING', 'RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED')`,
    );
    await queryRunner.query(
      `CREATE TABLE "runs" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "stage" "public"."run_stage" NOT NULL, "status" "public"."run_status" NOT NULL DEFAULT 'QUEUED', "config" jsonb NOT NULL DEFAULT '{}', "input_checkpoint_id" integer, "output_checkpoint_id" integer, "manifest_id" integer, "launcher" text NOT NULL DEFAULT 'local', "external_id" text, "heartbeat_at" TIMESTAMP WITH TIME ZONE, "progress" jsonb, "metrics" jsonb NOT NULL DEFAULT '{}', "error" text, "exit_code" integer, "curriculum_id" integer, "round" integer, "attempt" integer NOT NULL DEFAULT '1', "retry_of_id" integer, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_46d6a1e257c38ba58f1a3c30836" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_runs_curriculum" ON "runs"  ("curriculum_id", "round") `,
    );
    await queryRunner.query(`CREATE INDEX "ix_runs_stage" ON "runs"  ("stage", "id") `);
    await queryRunner.query(`CREATE INDEX "ix_runs_status" ON "runs"  ("status", "id") `);
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "name" text NOT NULL, "prefix" text NOT NULL, "hash" character(64) NOT NULL, "scopes" text array NOT NULL, "run_id" integer, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "UQ_6f6105c8efe05b310d046cbdb3d" UNIQUE ("prefix"), CONSTRAINT "UQ_598a14447f592c12d1fe22ba918" UNIQUE ("hash"), CONSTRAINT "ck_api_keys_scopes" CHECK (scopes <@ ARRAY['READ','WRITE','ADMIN','RUNNER']::text[] AND cardinality(scopes) > 0), CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE TYPE "public"."dataset_split" AS ENUM('TRAIN', 'EVAL')`);
    await queryRunner.query(
      `CREATE TABLE "datasets" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "name" text NOT NULL, "split" "public"."dataset_split" NOT NULL DEFAULT 'TRAIN', "description" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_4a40dadf87d8be1c12c51a13f10" UNIQUE ("name"), CONSTRAINT "PK_1bf831e43c559a240303e23d038" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "samples" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "dataset_id" integer NOT NULL, "external_id" text NOT NULL, "problem" text NOT NULL, "answer" text NOT NULL, "domain" text, "tags" text array NOT NULL DEFAULT '{}', "content_hash" character(64) NOT NULL, "metadata" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "uq_samples_dataset_content_hash" UNIQUE ("dataset_id", "content_hash"), CONSTRAINT "uq_samples_dataset_external_id" UNIQUE ("dataset_id", "external_id"), CONSTRAINT "PK_d68b5b3bd25a6851b033fb63444" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_samples_domain" ON "samples"  ("domain", "id") `);
    await queryRunner.query(
      `CREATE INDEX "ix_samples_dataset" ON "samples"  ("dataset_id", "id") `,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."trace_kind" AS ENUM('TEACHER', 'ROLLOUT', 'BRIDGED', 'REPAIR', 'SOLUTION')`,
    );
    await queryRunner.query(
      `CREATE TABLE "traces" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "sample_id" bigint NOT NULL, "external_id" text NOT NULL, "kind" "public"."trace_kind" NOT NULL, "text" text NOT NULL, "final_answer" text, "correct" boolean, "reward" double precision, "grader_version" text, "producer" text, "run_id" integer, "parent_trace_id" bigint, "token_count" integer, "student_nll" double precision, "metadata" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "uq_traces_sample_external_id" UNIQUE ("sample_id", "external_id"), CONSTRAINT "PK_a28bd8d9b09a77802bb18fbc2f5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_traces_parent" ON "traces"  ("parent_trace_id") `);
    await queryRunner.query(`CREATE INDEX "ix_traces_producer" ON "traces"  ("producer", "id") `);
    await queryRunner.query(`CREATE INDEX "ix_traces_kind" ON "traces"  ("kind", "id") `);
    await queryRunner.query(`CREATE INDEX "ix_traces_run" ON "traces"  ("run_id", "id") `);
    await queryRunner.query(`CREATE INDEX "ix_traces_sample" ON "traces"  ("sample_id", "id") `);
    await queryRunner.query(
      `CREATE TYPE "public"."critique_verdict" AS ENUM('WRONG_STEP', 'WRONG_FINAL_ANSWER', 'NO_ANSWER', 'CORRECT')`,
    );
    await queryRunner.query(
      `CREATE TABLE "critiques" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "sample_id" bigint NOT NULL, "failed_trace_id" bigint NOT NULL, "diagnosis" text NOT NULL, "verdict" "public"."critique_verdict" NOT NULL, "repair_trace_id" bigint, "solution_trace_id" bigint, "verified" boolean NOT NULL DEFAULT false, "teacher" text NOT NULL, "run_id" integer, CONSTRAINT "PK_2ce74b41b44d80235b3a5458f34" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_critiques_run" ON "critiques"  ("run_id", "id") `);
    await queryRunner.query(
      `CREATE INDEX "ix_critiques_failed_trace" ON "critiques"  ("failed_trace_id") `,
    );
    await queryRunner.query(`CREATE INDEX "ix_critiques_sample" ON "critiques"  ("sample_id") `);
    await queryRunner.query(
      `CREATE TABLE "curriculum_datasets" ("id" SERIAL NOT NULL, "curriculum_id" integer NOT NULL, "dataset_id" integer NOT NULL, "role" text NOT NULL, CONSTRAINT "uq_curriculum_datasets" UNIQUE ("curriculum_id", "dataset_id"), CONSTRAINT "ck_curriculum_datasets_role" CHECK (role IN ('TRAIN', 'EVAL')), CONSTRAINT "PK_6e6bc71e4dfae29b84f65ed37e7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "manifest_items" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "manifest_id" integer NOT NULL, "ordinal" integer NOT NULL, "sample_id" bigint NOT NULL, "trace_id" bigint, CONSTRAINT "uq_manifest_items_ordinal" UNIQUE ("manifest_id", "ordinal"), CONSTRAINT "PK_3922dfbf8ef083c8cddd69d136e" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_manifest_items_sample" ON "manifest_items"  ("sample_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "pass_rates" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "sample_id" bigint NOT NULL, "checkpoint_id" integer NOT NULL, "attempts" integer NOT NULL, "successes" integer NOT NULL, "rate" double precision NOT NULL, "wilson_low" double precision NOT NULL, "wilson_high" double precision NOT NULL, "grader_version" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_pass_rates_sample_checkpoint" UNIQUE ("sample_id", "checkpoint_id"), CONSTRAINT "PK_216854f5d98398e60d8f3ae6b8d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_pass_rates_checkpoint_rate" ON "pass_rates"  ("checkpoint_id", "rate") `,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."assignment_stage" AS ENUM('SFT', 'RL', 'CRITIQUE', 'REPLAY', 'DROPPED')`,
    );
    await queryRunner.query(
      `CREATE TABLE "stage_assignments" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "curriculum_id" integer NOT NULL, "round" integer NOT NULL, "sample_id" bigint NOT NULL, "stage" "public"."assignment_stage" NOT NULL, "policy_id" integer NOT NULL, "checkpoint_id" integer NOT NULL, "pass_rate" double precision, "attempts" integer, "reason" text NOT NULL, CONSTRAINT "uq_stage_assignments_round_sample" UNIQUE ("curriculum_id", "round", "sample_id"), CONSTRAINT "PK_b347ea84583662516f98df5ea80" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_stage_assignments_sample" ON "stage_assignments"  ("sample_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_stage_assignments_round_stage" ON "stage_assignments"  ("curriculum_id", "round", "stage", "sample_id") `,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."run_event_type" AS ENUM('STATUS', 'PROGRESS', 'METRIC', 'LOG', 'ARTIFACT')`,
    );
    await queryRunner.query(
      `CREATE TABLE "run_events" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" BIGSERIAL NOT NULL, "run_id" integer NOT NULL, "seq" integer NOT NULL, "type" "public"."run_event_type" NOT NULL, "payload" jsonb NOT NULL DEFAULT '{}', "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_run_events_run_seq" UNIQUE ("run_id", "seq"), CONSTRAINT "PK_6a60304b2cec8281b713a19fa7b" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "server_settings" ("key" text NOT NULL, "value" text NOT NULL, CONSTRAINT "PK_9baa85c95771a8a3d89f1382ec9" PRIMARY KEY ("key"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "checkpoints" ADD CONSTRAINT "FK_2a802076c954bf2b50d183db8aa" FOREIGN KEY ("parent_id") REFERENCES "checkpoints"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "checkpoints" ADD CONSTRAINT "FK_7368ad94f26681658d513092ad5" FOREIGN KEY ("produced_by_run_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" ADD CONSTRAINT "FK_838ff7cd50857b6e1914b198f5a" FOREIGN KEY ("base_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" ADD CONSTRAINT "FK_3ab22cc89b69cf899a6f9ec49f0" FOREIGN KEY ("policy_id") REFERENCES "routing_policies"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "FK_fbd141ab2715b4b2ceebbf4133d" FOREIGN KEY ("input_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "FK_ab2a7633d70e76a5ade3a652dee" FOREIGN KEY ("output_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "FK_f5043c97a67110a4866d7433a47" FOREIGN KEY ("manifest_id") REFERENCES "manifests"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "FK_fd014f17d923f944b05f6945ebc" FOREIGN KEY ("curriculum_id") REFERENCES "curricula"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "FK_1fb91ac514dd19d84ad4a641ab2" FOREIGN KEY ("retry_of_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "FK_b5b4a6fd56d55a89da4374146b3" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "samples" ADD CONSTRAINT "FK_419bcbbed985d4b8ee13ff76a14" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" ADD CONSTRAINT "FK_a39f3221080bb17c5a197b9f47d" FOREIGN KEY ("sample_id") REFERENCES "samples"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" ADD CONSTRAINT "FK_13705db9346268cb57bf6c94a19" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" ADD CONSTRAINT "FK_29a57045636e050f6bad760efa4" FOREIGN KEY ("parent_trace_id") REFERENCES "traces"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" ADD CONSTRAINT "FK_ceecef61789db6bcc93c4afd560" FOREIGN KEY ("sample_id") REFERENCES "samples"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" ADD CONSTRAINT "FK_c4a80ba7912c8634871707766ea" FOREIGN KEY ("failed_trace_id") REFERENCES "traces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" ADD CONSTRAINT "FK_b0a045ad4c7838af3317c5622ba" FOREIGN KEY ("repair_trace_id") REFERENCES "traces"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" ADD CONSTRAINT "FK_eb5649e482e542106488018ca1e" FOREIGN KEY ("solution_trace_id") REFERENCES "traces"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" ADD CONSTRAINT "FK_dffd3d3e5e35981ee539a402a6c" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_datasets" ADD CONSTRAINT "FK_c03a3d6f08d677109dc6a6a8c32" FOREIGN KEY ("curriculum_id") REFERENCES "curricula"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_datasets" ADD CONSTRAINT "FK_514492e28554d1e9c6493f2ccfb" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_items" ADD CONSTRAINT "FK_cddaa992fe6f8351227c97d0342" FOREIGN KEY ("manifest_id") REFERENCES "manifests"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_items" ADD CONSTRAINT "FK_1aee428187bad5bca877f3a2c27" FOREIGN KEY ("sample_id") REFERENCES "samples"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_items" ADD CONSTRAINT "FK_53f6060fb85a7c66b505ce0c470" FOREIGN KEY ("trace_id") REFERENCES "traces"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "pass_rates" ADD CONSTRAINT "FK_088939dfffc38622356b2e41013" FOREIGN KEY ("sample_id") REFERENCES "samples"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "pass_rates" ADD CONSTRAINT "FK_714f708f7f6b95c3128f172f394" FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" ADD CONSTRAINT "FK_e6d7ca594336d9df004aec4ad4e" FOREIGN KEY ("curriculum_id") REFERENCES "curricula"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" ADD CONSTRAINT "FK_f472d6ba52035c2bf7d533d9e92" FOREIGN KEY ("sample_id") REFERENCES "samples"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" ADD CONSTRAINT "FK_3199853930f29728d1a6856786d" FOREIGN KEY ("policy_id") REFERENCES "routing_policies"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" ADD CONSTRAINT "FK_0b8943f0080bff3f1a86147ce56" FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "run_events" ADD CONSTRAINT "FK_5d8974d438d9e9eb7dd9f6856d1" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // Hand-written: index methods TypeORM cannot express (entities mark them synchronize: false).
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await queryRunner.query(`CREATE INDEX "ix_samples_tags" ON "samples" USING gin ("tags")`);
    await queryRunner.query(
      `CREATE INDEX "ix_samples_problem_trgm" ON "samples" USING gin ("problem" gin_trgm_ops)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_samples_problem_trgm"`);
    await queryRunner.query(`DROP INDEX "ix_samples_tags"`);
    await queryRunner.query(
      `ALTER TABLE "run_events" DROP CONSTRAINT "FK_5d8974d438d9e9eb7dd9f6856d1"`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" DROP CONSTRAINT "FK_0b8943f0080bff3f1a86147ce56"`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" DROP CONSTRAINT "FK_3199853930f29728d1a6856786d"`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" DROP CONSTRAINT "FK_f472d6ba52035c2bf7d533d9e92"`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_assignments" DROP CONSTRAINT "FK_e6d7ca594336d9df004aec4ad4e"`,
    );
    await queryRunner.query(
      `ALTER TABLE "pass_rates" DROP CONSTRAINT "FK_714f708f7f6b95c3128f172f394"`,
    );
    await queryRunner.query(
      `ALTER TABLE "pass_rates" DROP CONSTRAINT "FK_088939dfffc38622356b2e41013"`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_items" DROP CONSTRAINT "FK_53f6060fb85a7c66b505ce0c470"`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_items" DROP CONSTRAINT "FK_1aee428187bad5bca877f3a2c27"`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_items" DROP CONSTRAINT "FK_cddaa992fe6f8351227c97d0342"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_datasets" DROP CONSTRAINT "FK_514492e28554d1e9c6493f2ccfb"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_datasets" DROP CONSTRAINT "FK_c03a3d6f08d677109dc6a6a8c32"`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" DROP CONSTRAINT "FK_dffd3d3e5e35981ee539a402a6c"`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" DROP CONSTRAINT "FK_eb5649e482e542106488018ca1e"`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" DROP CONSTRAINT "FK_b0a045ad4c7838af3317c5622ba"`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" DROP CONSTRAINT "FK_c4a80ba7912c8634871707766ea"`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" DROP CONSTRAINT "FK_ceecef61789db6bcc93c4afd560"`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" DROP CONSTRAINT "FK_29a57045636e050f6bad760efa4"`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" DROP CONSTRAINT "FK_13705db9346268cb57bf6c94a19"`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" DROP CONSTRAINT "FK_a39f3221080bb17c5a197b9f47d"`,
    );
    await queryRunner.query(
      `ALTER TABLE "samples" DROP CONSTRAINT "FK_419bcbbed985d4b8ee13ff76a14"`,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" DROP CONSTRAINT "FK_b5b4a6fd56d55a89da4374146b3"`,
    );
    await queryRunner.query(`ALTER TABLE "runs" DROP CONSTRAINT "FK_1fb91ac514dd19d84ad4a641ab2"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP CONSTRAINT "FK_fd014f17d923f944b05f6945ebc"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP CONSTRAINT "FK_f5043c97a67110a4866d7433a47"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP CONSTRAINT "FK_ab2a7633d70e76a5ade3a652dee"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP CONSTRAINT "FK_fbd141ab2715b4b2ceebbf4133d"`);
    await queryRunner.query(
      `ALTER TABLE "curricula" DROP CONSTRAINT "FK_3ab22cc89b69cf899a6f9ec49f0"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" DROP CONSTRAINT "FK_838ff7cd50857b6e1914b198f5a"`,
    );
    await queryRunner.query(
      `ALTER TABLE "checkpoints" DROP CONSTRAINT "FK_7368ad94f26681658d513092ad5"`,
    );
    await queryRunner.query(
      `ALTER TABLE "checkpoints" DROP CONSTRAINT "FK_2a802076c954bf2b50d183db8aa"`,
    );
    await queryRunner.query(`DROP TABLE "server_settings"`);
    await queryRunner.query(`DROP TABLE "run_events"`);
    await queryRunner.query(`DROP TYPE "public"."run_event_type"`);
    await queryRunner.query(`DROP INDEX "public"."ix_stage_assignments_round_stage"`);
    await queryRunner.query(`DROP INDEX "public"."ix_stage_assignments_sample"`);
    await queryRunner.query(`DROP TABLE "stage_assignments"`);
    await queryRunner.query(`DROP TYPE "public"."assignment_stage"`);
    await queryRunner.query(`DROP INDEX "public"."ix_pass_rates_checkpoint_rate"`);
    await queryRunner.query(`DROP TABLE "pass_rates"`);
    await queryRunner.query(`DROP INDEX "public"."ix_manifest_items_sample"`);
    await queryRunner.query(`DROP TABLE "manifest_items"`);
    await queryRunner.query(`DROP TABLE "curriculum_datasets"`);
    await queryRunner.query(`DROP INDEX "public"."ix_critiques_sample"`);
    await queryRunner.query(`DROP INDEX "public"."ix_critiques_failed_trace"`);
    await queryRunner.query(`DROP INDEX "public"."ix_critiques_run"`);
    await queryRunner.query(`DROP TABLE "critiques"`);
    await queryRunner.query(`DROP TYPE "public"."critique_verdict"`);
    await queryRunner.query(`DROP INDEX "public"."ix_traces_sample"`);
    await queryRunner.query(`DROP INDEX "public"."ix_traces_run"`);
    await queryRunner.query(`DROP INDEX "public"."ix_traces_kind"`);
    await queryRunner.query(`DROP INDEX "public"."ix_traces_producer"`);
    await queryRunner.query(`DROP INDEX "public"."ix_traces_parent"`);
    await queryRunner.query(`DROP TABLE "traces"`);
    await queryRunner.query(`DROP TYPE "public"."trace_kind"`);
    await queryRunner.query(`DROP INDEX "public"."ix_samples_dataset"`);
    await queryRunner.query(`DROP INDEX "public"."ix_samples_domain"`);
    await queryRunner.query(`DROP TABLE "samples"`);
    await queryRunner.query(`DROP TABLE "datasets"`);
    await queryRunner.query(`DROP TYPE "public"."dataset_split"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
    await queryRunner.query(`DROP INDEX "public"."ix_runs_status"`);
    await queryRunner.query(`DROP INDEX "public"."ix_runs_stage"`);
    await queryRunner.query(`DROP INDEX "public"."ix_runs_curriculum"`);
    await queryRunner.query(`DROP TABLE "runs"`);
    await queryRunner.query(`DROP TYPE "public"."run_status"`);
    await queryRunner.query(`DROP TYPE "public"."run_stage"`);
    await queryRunner.query(`DROP INDEX "public"."ix_curricula_status"`);
    await queryRunner.query(`DROP TABLE "curricula"`);
    await queryRunner.query(`DROP TYPE "public"."curriculum_status"`);
    await queryRunner.query(`DROP TYPE "public"."curriculum_phase"`);
    await queryRunner.query(`DROP TABLE "routing_policies"`);
    await queryRunner.query(`DROP TYPE "public"."bridge_strategy"`);
    await queryRunner.query(`DROP TABLE "manifests"`);
    await queryRunner.query(`DROP TYPE "public"."manifest_purpose"`);
    await queryRunner.query(`DROP INDEX "public"."ix_checkpoints_parent"`);
    await queryRunner.query(`DROP INDEX "public"."ix_checkpoints_run"`);
    await queryRunner.query(`DROP TABLE "checkpoints"`);
  }
}
