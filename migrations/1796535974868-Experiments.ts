import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Experiments1796535974868 implements MigrationInterface {
  name = 'Experiments1796535974868';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TYPE "public"."experiment_status" AS ENUM('ACTIVE', 'PAUSED', 'SUCCEEDED', 'CANCELLED')`,
    );
    await queryRunner.query(
      `CREATE TABLE "experiments" ("created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "id" SERIAL NOT NULL, "name" text NOT NULL, "base_checkpoint_id" integer NOT NULL, "train_dataset_ids" integer array NOT NULL, "eval_dataset_ids" integer array NOT NULL, "arm_names" text array NOT NULL, "seeds" integer NOT NULL, "compute_budget" double precision NOT NULL, "launcher" text NOT NULL DEFAULT 'local', "stage_configs" jsonb NOT NULL DEFAULT '{}', "status" "public"."experiment_status" NOT NULL DEFAULT 'ACTIVE', "pause_reason" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_c697ebe6ea1b865670e8bf253bf" UNIQUE ("name"), CONSTRAINT "PK_aafe1321d916fac58ba06ad8178" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_experiments_status" ON "experiments"  ("status") `);
    await queryRunner.query(
      `CREATE TABLE "experiment_runs" ("experiment_id" integer NOT NULL, "arm" text NOT NULL, "seed" integer NOT NULL, "step" integer NOT NULL, "run_id" integer NOT NULL, CONSTRAINT "UQ_c8c61f84820c904333c9139299f" UNIQUE ("run_id"), CONSTRAINT "PK_103f703ac889b4d73dd8b09e6d6" PRIMARY KEY ("experiment_id", "arm", "seed", "step"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiments" ADD CONSTRAINT "FK_a39d2d1a3df909a8f53a5de12bc" FOREIGN KEY ("base_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiment_runs" ADD CONSTRAINT "FK_177364d9f802966af1121d23b09" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiment_runs" ADD CONSTRAINT "FK_c8c61f84820c904333c9139299f" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "experiment_runs" DROP CONSTRAINT "FK_c8c61f84820c904333c9139299f"`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiment_runs" DROP CONSTRAINT "FK_177364d9f802966af1121d23b09"`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiments" DROP CONSTRAINT "FK_a39d2d1a3df909a8f53a5de12bc"`,
    );
    await queryRunner.query(`DROP TABLE "experiment_runs"`);
    await queryRunner.query(`DROP INDEX "public"."ix_experiments_status"`);
    await queryRunner.query(`DROP TABLE "experiments"`);
    await queryRunner.query(`DROP TYPE "public"."experiment_status"`);
  }
}
