// Copy-as-code: the same call written for the CLI, the TypeScript SDK, curl against the HTTP API and
// Python (requests) against the HTTP API. Pure, so it is tested alone.

/** One call to show as code. */
export interface CallToShow {
  name: string;
  method: string;
  input: unknown;
  /** The HTTP API's address, e.g. http://127.0.0.1:8765 (browser mode's own origin). */
  baseUrl: string;
}

/** The languages offered, in the order shown. */
export const CODE_KINDS = ['CLI', 'TypeScript', 'curl', 'Python'] as const;
export type CodeKind = (typeof CODE_KINDS)[number];

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The call as code of one kind. */
export function callAsCode(kind: CodeKind, c: CallToShow): string {
  const input = JSON.stringify(c.input);
  const methodArg = c.method === 'run' ? '' : ` --method ${shellQuote(c.method)}`;
  const path = `/v1/servables/${encodeURIComponent(c.name)}/run`;
  const body = JSON.stringify({ method: c.method, input: c.input });
  switch (kind) {
    case 'CLI':
      return `dlhub run ${shellQuote(c.name)}${methodArg} --input ${shellQuote(input)}`;
    case 'TypeScript':
      return [
        "import { DLHubClient } from './main/api/sdk.js';",
        '',
        '// The HTTP API of `dlhub serve --http`: its address and token are read from ~/.dlhub/run.',
        'const client = DLHubClient.http();',
        `const output = await client.run(${JSON.stringify(c.name)}, ${input}${c.method === 'run' ? '' : `, { method: ${JSON.stringify(c.method)} }`});`,
        'console.log(output);',
      ].join('\n');
    case 'curl':
      return [
        `curl -s ${shellQuote(`${c.baseUrl}${path}`)} \\`,
        '  -H "Authorization: Bearer $(cat ~/.dlhub/run/api-token)" \\',
        "  -H 'Content-Type: application/json' \\",
        `  -d ${shellQuote(body)}`,
      ].join('\n');
    case 'Python':
      return [
        'import pathlib, requests',
        '',
        'token = (pathlib.Path.home() / ".dlhub/run/api-token").read_text().strip()',
        `answer = requests.post(${JSON.stringify(`${c.baseUrl}${path}`)},`,
        '                       headers={"Authorization": f"Bearer {token}"},',
        `                       json=${pyLiteral({ method: c.method, input: c.input })}).json()`,
        'print(answer["result"]["output"])',
      ].join('\n');
  }
}

/** A JSON value written as a Python literal (true -> True, null -> None). */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ')}}`;
}
