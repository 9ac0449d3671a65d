// `npm run gen:openapi`: writes schemas/openapi.json and the precompiled door files (main/api/generated/)
// from the operations table; a test fails when the checked-in files are stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApi } from '../contract/openapi.js';
import { generatedContractFiles } from './gen-contract.js';

/** Write the generated OpenAPI document and door files under the repository `root`. */
export function writeGenerated(root: string): string[] {
  const files: Record<string, string> = { 'schemas/openapi.json': `${JSON.stringify(buildOpenApi(), null, 2)}\n`, ...generatedContractFiles() };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return Object.keys(files);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  for (const f of writeGenerated(root)) console.log(`wrote ${f}`);
}
