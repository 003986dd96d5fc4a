import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MethodArms1796581437293 implements MigrationInterface {
  name = 'MethodArms1796581437293';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "experiment_curricula" ("experiment_id" integer NOT NULL, "arm" text NOT NULL, "seed" integer NOT NULL, "curriculum_id" integer NOT NULL, CONSTRAINT "UQ_bfcf8d8cbdb7f0ea9675c1c7c52" UNIQUE ("curriculum_id"), CONSTRAINT "PK_fc677a55e66145ae9956dfe337c" PRIMARY KEY ("experiment_id", "arm", "seed"))`,
    );
    await queryRunner.query(`ALTER TABLE "curricula" ADD "compute_budget" double precision`);
    await queryRunner.query(
      `ALTER TABLE "curricula" ADD "ablations" text array NOT NULL DEFAULT '{}'`,
    );
    await queryRunner.query(`ALTER TABLE "experiments" ADD "policy_id" integer`);
    await queryRunner.query(`ALTER TABLE "experiments" ADD "rounds" integer NOT NULL DEFAULT '2'`);
    await queryRunner.query(`ALTER TABLE "experiment_runs" ADD "planned_tokens" double precision`);
    await queryRunner.query(
      `ALTER TABLE "experiments" ADD CONSTRAINT "FK_b9bfb184eef4845663b8cefc10e" FOREIGN KEY ("policy_id") REFERENCES "routing_policies"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiment_curricula" ADD CONSTRAINT "FK_c59433db8aedeec0e6b69ddfa84" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiment_curricula" ADD CONSTRAINT "FK_bfcf8d8cbdb7f0ea9675c1c7c52" FOREIGN KEY ("curriculum_id") REFERENCES "curricula"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "experiment_curricula" DROP CONSTRAINT "FK_bfcf8d8cbdb7f0ea9675c1c7c52"`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiment_curricula" DROP CONSTRAINT "FK_c59433db8aedeec0e6b69ddfa84"`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiments" DROP CONSTRAINT "FK_b9bfb184eef4845663b8cefc10e"`,
    );
    await queryRunner.query(`ALTER TABLE "experiment_runs" DROP COLUMN "planned_tokens"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "rounds"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "policy_id"`);
    await queryRunner.query(`ALTER TABLE "curricula" DROP COLUMN "ablations"`);
    await queryRunner.query(`ALTER TABLE "curricula" DROP COLUMN "compute_budget"`);
    await queryRunner.query(`DROP TABLE "experiment_curricula"`);
  }
}
