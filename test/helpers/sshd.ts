// A real OpenSSH server on this machine for the `--ssh USER@HOST` cluster tests: Debian's sshd on a
// free loopback port with a host key and a user key made for the suite, the environment given set for
// every session (SLURM_CONF), started as a child and stopped by its PID. The client side is an ssh
// config file (DLHUB_SSH_CONFIG) naming the host alias, port and key.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../../main/storage/process-alive.js';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

/** A running sshd: the host alias to give `--ssh root@ALIAS`, the client config file, and how to stop it. */
export interface TestSshd {
  alias: string;
  config: string;
  stop: () => Promise<void>;
}

/** Start sshd for `dir` (keys, config, log live there); every session gets `env`. */
export async function startSshd(dir: string, env: Record<string, string>): Promise<TestSshd> {
  if (!existsSync('/usr/sbin/sshd')) throw new Error('These tests need an OpenSSH server: run scripts/setup.sh or `apt-get install openssh-server`.');
  mkdirSync(dir, { recursive: true });
  // sshd's privilege separation wants this folder to exist.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (const key of ['host_key', 'user_key']) {
    if (!existsSync(join(dir, key))) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)]);
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')), { mode: 0o600 });
  const port = await freePort();
  const serverConf = join(dir, 'sshd_config');
  writeFileSync(serverConf, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    `SetEnv ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    '',
  ].join('\n'));
  const alias = 'dlhub-test-login';
  const config = join(dir, 'ssh_config');
  writeFileSync(config, [
    `Host ${alias}`,
    '  HostName 127.0.0.1',
    `  Port ${port}`,
    `  IdentityFile ${join(dir, 'user_key')}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  LogLevel ERROR',
    '',
  ].join('\n'));
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', serverConf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  const pid = child.pid ?? 0;
  const stop = async (): Promise<void> => {
    if (pid && isProcessAlive(pid)) process.kill(pid, 'SIGTERM');
    if (pid) await waitFor('sshd to stop', () => !isProcessAlive(pid) || child.exitCode !== null, { timeoutMs: 10_000 }).catch(() => process.kill(pid, 'SIGKILL'));
  };
  try {
    await waitFor('sshd to let the suite\'s key in', () => {
      try {
        return execFileSync('ssh', ['-F', config, '-o', 'BatchMode=yes', `root@${alias}`, 'true'], { stdio: 'pipe' }) !== undefined;
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000, everyMs: 200 });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; sshd said:\n${log.slice(-2000)}`);
  }
  return { alias, config, stop };
}
