// `npm run gen:openapi`: writes schemas/openapi.json from the operations table (a test fails when the checked-in file is stale).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApi } from './contract/openapi.js';

/** Write the generated OpenAPI document to `file`. */
export function writeOpenApi(file: string): void {
  writeFileSync(file, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('../../../schemas/openapi.json', import.meta.url));
  writeOpenApi(file);
  console.log(`wrote ${file}`);
}
