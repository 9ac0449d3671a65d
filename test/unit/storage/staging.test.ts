// Uploads into the staging folder: each lands in a folder of its own under $DLHUB_HOME/staging;
// names with "..", absolute or drive names, backslashes, duplicates and a file under a file are
// refused; the file-count and byte limits give LIMIT_EXCEEDED with what to do; nothing is left
// behind by a refused upload.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { UPLOAD_LIMITS } from '../../../main/contract/upload.js';
import { LimitError, PathError } from '../../../main/errors.js';
import { checkUpload, stageUpload } from '../../../main/storage/staging.js';
import { tempDir } from '../../helpers/home.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('staging uploads', () => {
  const work = tempDir('dlhub-staging-');
  const staging = join(work.path, 'staging');
  afterAll(() => work.remove());

  it('writes the files into a new folder of their own, named after the label', async () => {
    const a = await stageUpload(staging, { name: 'my iris', files: [{ path: 'model.pkl', data: bytes('pk') }, { path: 'src/app.py', data: bytes('x = 1') }] });
    const b = await stageUpload(staging, { name: 'my iris', files: [{ path: 'model.pkl', data: bytes('other') }] });
    expect(a).toMatchObject({ files: 2, bytes: 7 });
    expect(a.dir).not.toBe(b.dir);
    expect(a.dir.startsWith(join(staging, 'my-iris-'))).toBe(true);
    expect(readFileSync(join(a.dir, 'src', 'app.py'), 'utf8')).toBe('x = 1');
    expect(readFileSync(join(b.dir, 'model.pkl'), 'utf8')).toBe('other');
  });

  it('refuses unsafe names with PATH_UNSAFE and leaves nothing behind', async () => {
    const before = readdirSync(staging).length;
    for (const path of ['../escape.py', 'a/../../b', '/etc/passwd', 'C:/x', 'a\\b', 'a//b/..']) {
      await expect(stageUpload(staging, { files: [{ path: 'ok.txt', data: bytes('1') }, { path, data: bytes('x') }] }), path).rejects.toBeInstanceOf(PathError);
    }
    await expect(stageUpload(staging, { files: [{ path: 'a', data: bytes('1') }, { path: 'a', data: bytes('2') }] })).rejects.toThrow(/names it twice/);
    await expect(stageUpload(staging, { files: [{ path: 'a', data: bytes('1') }, { path: 'a/b', data: bytes('2') }] })).rejects.toThrow(/is a file in this upload/);
    expect(readdirSync(staging).length).toBe(before);
  });

  it('refuses more files or bytes than the limits, saying which limit and what to do', () => {
    const many = { files: Array.from({ length: UPLOAD_LIMITS.files + 1 }, (_, i) => ({ path: `f${i}`, data: new Uint8Array(0) })) };
    expect(() => checkUpload(many)).toThrow(LimitError);
    const big = { files: [{ path: 'a', data: new Uint8Array(UPLOAD_LIMITS.bytes) }, { path: 'b', data: new Uint8Array(1) }] };
    try {
      checkUpload(big);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: 'bytes' }, hint: expect.stringMatching(/dlhub build DIR/) });
    }
    expect(() => checkUpload({ files: [{ path: 'x', data: 'not bytes' }] })).toThrow(/carries no bytes/);
  });

  it('any name is accepted as a path inside the folder or refused as unsafe, never anything else', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('..', '.', '/', '\\', 'C:', '')), { minLength: 1, maxLength: 5 }), (parts) => {
      const path = parts.join('/');
      try {
        const { parts: split } = checkUpload({ files: [{ path, data: new Uint8Array(1) }] });
        for (const p of split[0] ?? []) expect(p === '..' || p === '' || p.includes('\\')).toBe(false);
      } catch (err) {
        expect(err).toBeInstanceOf(PathError);
      }
    }));
  });
});
