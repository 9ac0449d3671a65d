// Electron's SafeStorage with real encryption, for tests (Electron's binary cannot run here):
// AES-256-GCM under a key only this object holds, standing in for the OS keychain.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SafeStorage } from 'electron';

/** A keychain backend as Electron names it on Linux. */
export type Backend = ReturnType<SafeStorage['getSelectedStorageBackend']>;

/** An object of Electron's own SafeStorage type; `calls` records encrypt and decrypt in order. */
export function fakeSafeStorage(o: { backend?: Backend; available?: boolean } = {}): SafeStorage & { calls: string[] } {
  const key = randomBytes(32);
  const calls: string[] = [];
  return {
    calls,
    isEncryptionAvailable: () => o.available ?? true,
    getSelectedStorageBackend: () => o.backend ?? 'gnome_libsecret',
    setUsePlainTextEncryption: () => undefined,
    encryptString(plainText: string): Buffer {
      calls.push('encrypt');
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plainText, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(encrypted: Buffer): string {
      calls.push('decrypt');
      const d = createDecipheriv('aes-256-gcm', key, encrypted.subarray(0, 12));
      d.setAuthTag(encrypted.subarray(12, 28));
      return Buffer.concat([d.update(encrypted.subarray(28)), d.final()]).toString('utf8');
    },
  };
}
