import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RunEventsClosed1796520244438 implements MigrationInterface {
  name = 'RunEventsClosed1796520244438';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD "events_closed_at" TIMESTAMP WITH TIME ZONE`);
    // Runs that ended before this column existed have nothing more coming: their logs are closed.
    await queryRunner.query(
      `UPDATE "runs" SET "events_closed_at" = coalesce("finished_at", "updated_at") WHERE "status" IN ('SUCCEEDED', 'FAILED', 'CANCELLED')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "events_closed_at"`);
  }
}
