import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Settings the server keeps for itself across restarts and replicas (the cursor secret). */
@Entity('server_settings')
export class ServerSetting {
  @PrimaryColumn({ type: 'text' })
  key!: string;

  @Column({ type: 'text' })
  value!: string;
}
