import { useState } from 'react';
import { callAsCode, CODE_KINDS, type CallToShow, type CodeKind } from '../lib/copy-code.js';

/** The last call as code: CLI, TypeScript SDK, curl and Python tabs, with a copy button. */
export function CopyCode({ call }: { call: CallToShow }) {
  const [kind, setKind] = useState<CodeKind>('CLI');
  const [copied, setCopied] = useState(false);
  const code = callAsCode(kind, call);
  return (
    <section className="copy-code" aria-label="The call as code">
      <div className="tabs-row">
        <div role="tablist" aria-label="Language" className="tabs">
          {CODE_KINDS.map((k) => (
            <button key={k} type="button" role="tab" aria-selected={k === kind} className={k === kind ? 'tab active' : 'tab'} onClick={() => { setKind(k); setCopied(false); }}>
              {k}
            </button>
          ))}
        </div>
        <button
          type="button"
          className="copy"
          onClick={() => {
            void navigator.clipboard?.writeText(code).then(() => setCopied(true), () => setCopied(false));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <pre className="code-block" data-testid="code-block"><code>{code}</code></pre>
    </section>
  );
}
