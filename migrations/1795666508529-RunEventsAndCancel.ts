import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RunEventsAndCancel1795666508529 implements MigrationInterface {
  name = 'RunEventsAndCancel1795666508529';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD "exit_signal" text`);
    await queryRunner.query(
      `ALTER TABLE "runs" ADD "cancel_requested_at" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(`ALTER TABLE "runs" ADD "last_seq" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "run_events" ADD "runner_seq" integer`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_run_events_run_runner_seq" ON "run_events"  ("run_id", "runner_seq") WHERE runner_seq IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."uq_run_events_run_runner_seq"`);
    await queryRunner.query(`ALTER TABLE "run_events" DROP COLUMN "runner_seq"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "last_seq"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "cancel_requested_at"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "exit_signal"`);
  }
}
