import type { MigrationInterface, QueryRunner } from 'typeorm';

export class StrategyData1795675204980 implements MigrationInterface {
  name = 'StrategyData1795675204980';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "curriculum_rounds" ("id" SERIAL NOT NULL, "curriculum_id" integer NOT NULL, "round" integer NOT NULL, "start_checkpoint_id" integer NOT NULL, "sft_checkpoint_id" integer, "end_checkpoint_id" integer, "stats" jsonb NOT NULL DEFAULT '{}', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_curriculum_rounds_round" UNIQUE ("curriculum_id", "round"), CONSTRAINT "PK_7d60e7fa8ce9e8cd42ed25ef885" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "manifest_exclusions" ("manifest_id" integer NOT NULL, "sample_id" bigint NOT NULL, "eval_sample_id" bigint NOT NULL, "reason" text NOT NULL, CONSTRAINT "PK_5cad8266127aec809026fe13b2d" PRIMARY KEY ("manifest_id", "sample_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_manifest_exclusions_sample" ON "manifest_exclusions"  ("sample_id") `,
    );
    await queryRunner.query(
      `ALTER TABLE "manifests" ADD "contaminated_count" integer NOT NULL DEFAULT '0'`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" ADD "stage_configs" jsonb NOT NULL DEFAULT '{}'`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" ADD "auto_advance" boolean NOT NULL DEFAULT true`,
    );
    await queryRunner.query(`ALTER TABLE "curricula" ADD "current_run_id" integer`);
    await queryRunner.query(`ALTER TABLE "critiques" ADD "first_wrong_step" integer`);
    await queryRunner.query(
      `ALTER TABLE "critiques" ADD CONSTRAINT "uq_critiques_run_failed_trace" UNIQUE ("run_id", "failed_trace_id")`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" ADD CONSTRAINT "FK_cb026a34819e0bf652e4337c975" FOREIGN KEY ("current_run_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" ADD CONSTRAINT "FK_f80fa191c1d9495384f130c4f53" FOREIGN KEY ("curriculum_id") REFERENCES "curricula"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" ADD CONSTRAINT "FK_55a2aa0461214153a0f4ae41b95" FOREIGN KEY ("start_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" ADD CONSTRAINT "FK_8c3819436ba933f54ef982e7a5f" FOREIGN KEY ("sft_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" ADD CONSTRAINT "FK_03c57cdaf9baa46a47196c4ff5c" FOREIGN KEY ("end_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_exclusions" ADD CONSTRAINT "FK_630aa0be8ee79dabac61a59dae2" FOREIGN KEY ("manifest_id") REFERENCES "manifests"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_exclusions" ADD CONSTRAINT "FK_5dc30c91add22edcb1a1f86d932" FOREIGN KEY ("sample_id") REFERENCES "samples"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_exclusions" ADD CONSTRAINT "FK_bd943123f6a6ff4b43d0789bb2c" FOREIGN KEY ("eval_sample_id") REFERENCES "samples"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "manifest_exclusions" DROP CONSTRAINT "FK_bd943123f6a6ff4b43d0789bb2c"`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_exclusions" DROP CONSTRAINT "FK_5dc30c91add22edcb1a1f86d932"`,
    );
    await queryRunner.query(
      `ALTER TABLE "manifest_exclusions" DROP CONSTRAINT "FK_630aa0be8ee79dabac61a59dae2"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" DROP CONSTRAINT "FK_03c57cdaf9baa46a47196c4ff5c"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" DROP CONSTRAINT "FK_8c3819436ba933f54ef982e7a5f"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" DROP CONSTRAINT "FK_55a2aa0461214153a0f4ae41b95"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curriculum_rounds" DROP CONSTRAINT "FK_f80fa191c1d9495384f130c4f53"`,
    );
    await queryRunner.query(
      `ALTER TABLE "curricula" DROP CONSTRAINT "FK_cb026a34819e0bf652e4337c975"`,
    );
    await queryRunner.query(
      `ALTER TABLE "critiques" DROP CONSTRAINT "uq_critiques_run_failed_trace"`,
    );
    await queryRunner.query(`ALTER TABLE "critiques" DROP COLUMN "first_wrong_step"`);
    await queryRunner.query(`ALTER TABLE "curricula" DROP COLUMN "current_run_id"`);
    await queryRunner.query(`ALTER TABLE "curricula" DROP COLUMN "auto_advance"`);
    await queryRunner.query(`ALTER TABLE "curricula" DROP COLUMN "stage_configs"`);
    await queryRunner.query(`ALTER TABLE "manifests" DROP COLUMN "contaminated_count"`);
    await queryRunner.query(`DROP INDEX "public"."ix_manifest_exclusions_sample"`);
    await queryRunner.query(`DROP TABLE "manifest_exclusions"`);
    await queryRunner.query(`DROP TABLE "curriculum_rounds"`);
  }
}
