import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../../main/contract/hardware.js';
import { fitReport, gpuPlacement, parseNvidiaSmi, probeGpus } from '../../../main/runtime/hardware.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';

const MIB = 1024 * 1024;

function metadata(resources?: Record<string, unknown>): ServableMetadata {
  return {
    datacite: { titles: [{ title: 't' }], creators: [] },
    dlhub: { name: 'net', ...(resources ? { resources } : {}) },
    servable: { type: 'Torch Model', shim: 'torch.TorchServable', methods: { run: {} } },
  };
}

function machine(gpus: { memoryGb: number }[] = [], over: Partial<DoctorReport> = {}): DoctorReport {
  return {
    platform: 'linux x64', cpus: 4, memoryBytes: 16e9, memoryAvailableBytes: 8e9,
    disk: { path: '/h', freeBytes: 1e10, totalBytes: 1e11 },
    gpus: gpus.map((g, index) => ({ index, name: 'NVIDIA H100', memoryBytes: g.memoryGb * 1e9 })),
    gpuProbe: gpus.length ? 'nvidia-smi reports GPUs' : 'nvidia-smi is not installed: no NVIDIA GPU (or driver) on this machine',
    runtimes: [{ name: 'docker', description: 'd', available: true, version: 'Docker Engine 24' }],
    clusters: [],
    ...over,
  };
}

describe('nvidia-smi output', () => {
  it('reads index, name, memory (MiB) and driver per line', () => {
    expect(parseNvidiaSmi('0, NVIDIA H100 80GB HBM3, 81559, 81000, 550.54.15\n1, Tesla T4, 15360, [N/A], 535.1\n')).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryBytes: 81559 * MIB, memoryFreeBytes: 81000 * MIB, driver: '550.54.15' },
      { index: 1, name: 'Tesla T4', memoryBytes: 15360 * MIB, driver: '535.1' },
    ]);
  });

  it('never throws on any text, and every GPU it reads has a name and a finite memory', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => {
      for (const g of parseNvidiaSmi(text)) {
        expect(g.name.length).toBeGreaterThan(0);
        expect(Number.isFinite(g.memoryBytes)).toBe(true);
        expect(Number.isInteger(g.index)).toBe(true);
      }
    }));
  });
});

describe('fit', () => {
  it('a servable that declares nothing fits on the CPU', () => {
    expect(fitReport('net', 'local', metadata(), machine())).toEqual({
      name: 'net', source: 'local', fits: true, device: 'cpu', reasons: [], notes: [],
      targets: [{ where: 'here', fits: true, device: 'cpu', reasons: [], notes: [] }],
    });
  });

  it('a GPU-only servable does not fit a machine without a GPU, and says why', () => {
    const r = fitReport('net', 'catalog', metadata({ gpu: true }), machine());
    expect(r.fits).toBe(false);
    expect(r.reasons).toEqual(['it needs a GPU (dlhub.resources.gpu) and this machine has none (nvidia-smi is not installed: no NVIDIA GPU (or driver) on this machine)']);
  });

  it('a GPU servable that allows the CPU fits, on the CPU, with a note', () => {
    const r = fitReport('net', 'local', metadata({ gpu: true, cpu_fallback: true }), machine());
    expect(r).toMatchObject({ fits: true, device: 'cpu', reasons: [] });
    expect(r.notes[0]).toContain('runs on the CPU');
  });

  it('GPU memory, RAM and CPUs are compared with what the machine has', () => {
    expect(fitReport('net', 'local', metadata({ gpu: true, gpu_memory_gb: 40 }), machine([{ memoryGb: 80 }]))).toMatchObject({ fits: true, device: 'gpu' });
    const small = fitReport('net', 'local', metadata({ gpu: true, gpu_memory_gb: 40, memory_gb: 64, cpus: 8 }), machine([{ memoryGb: 16 }]));
    expect(small.fits).toBe(false);
    expect(small.reasons).toEqual([
      'it needs a GPU with 40 GB of memory; the largest here has 16.0 GB',
      'it needs 64 GB of RAM; this machine has 16.0 GB',
      'it needs 8 CPU cores; this machine offers 4',
    ]);
  });

  it('a GPU here that Docker cannot hand to a container is noted', () => {
    const r = fitReport('net', 'local', metadata({ gpu: true }), machine([{ memoryGb: 80 }], { dockerGpu: false }));
    expect(r.fits).toBe(true);
    expect(r.notes[0]).toContain('no NVIDIA runtime');
  });
});

describe('GPU placement before a worker starts', () => {
  const dirs: string[] = [];
  afterEach(() => {
    delete process.env['DLHUB_NVIDIA_SMI'];
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function fakeSmi(output: string): void {
    const dir = mkdtempSync(join(tmpdir(), 'dlhub-smi-'));
    dirs.push(dir);
    const file = join(dir, 'nvidia-smi');
    writeFileSync(file, `#!/bin/sh\nprintf '%s' '${output}'\n`);
    chmodSync(file, 0o755);
    process.env['DLHUB_NVIDIA_SMI'] = file;
  }

  it('gives a GPU servable the GPU where nvidia-smi reports one', async () => {
    fakeSmi('0, NVIDIA H100, 81559, 81000, 550.54\n');
    await probeGpus(true);
    expect(await gpuPlacement(metadata({ gpu: true }))).toEqual({ gpu: true });
    expect(await gpuPlacement(metadata())).toEqual({ gpu: false });
  });

  it('refuses a GPU-only servable where there is none, and lets one that allows the CPU run there', async () => {
    process.env['DLHUB_NVIDIA_SMI'] = '/nonexistent/nvidia-smi';
    await probeGpus(true);
    await expect(gpuPlacement(metadata({ gpu: true }))).rejects.toMatchObject({ code: 'RUNTIME_UNAVAILABLE', message: expect.stringContaining('needs a GPU') as unknown });
    expect(await gpuPlacement(metadata({ gpu: true, cpu_fallback: true }))).toEqual({ gpu: false });
  });
});
