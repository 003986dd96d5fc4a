/** Writes the SDL the code builds to schema.graphql (the committed contract). */
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { printAppSchema } from '../src/app/schema';

const file = path.join(__dirname, '..', '..', 'schema.graphql');
printAppSchema()
  .then((sdl) => {
    fs.writeFileSync(file, sdl);
    console.log(`Wrote ${path.relative(process.cwd(), file)}`);
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
