import type { DataSource } from 'typeorm';
import { createDataSource, type DataSourceOptions } from '../common/db/data-source';
import { ENTITIES } from './entities';

/** The application's data source: common/'s PostgreSQL setup with every module's entity. */
export function createAppDataSource(
  url: string,
  opts: Omit<DataSourceOptions, 'entities'> = {},
): DataSource {
  return createDataSource(url, { ...opts, entities: ENTITIES });
}
