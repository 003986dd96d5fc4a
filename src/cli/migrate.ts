import 'reflect-metadata';
import { fail, withDatabase } from './with-database';

/** `npm run migrate`: applies pending migrations (the server also does at start). */
withDatabase(async (ds) => {
  const applied = await ds.runMigrations({ transaction: 'each' });
  console.log(
    applied.length
      ? `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`
      : 'The database is up to date.',
  );
}).catch(fail);
