// The names of the runtimes a request may name, once for every door, the CLI and the registry
// (a test keeps the registry's table equal to this list).
import { Type, type Static } from '@sinclair/typebox';

/** Every runtime a servable can run on, in the order `--runtime` lists them. */
export const RUNTIME_NAMES = ['docker', 'host', 'apptainer'] as const;

/** Where a servable runs. */
export const RuntimeName = Type.Union(RUNTIME_NAMES.map((r) => Type.Literal(r)), { description: 'where the servable runs' });
export type RuntimeName = Static<typeof RuntimeName>;

/** One runtime as `listRuntimes` answers it: can it run servables on this machine now, and if not, why. */
export const RuntimeAvailability = Type.Object({
  name: RuntimeName,
  description: Type.String({ description: 'what the runtime runs servables in' }),
  available: Type.Boolean({ description: 'it can start workers now' }),
  reason: Type.Optional(Type.String({ description: 'why it cannot, and what to do (when not available)' })),
  version: Type.Optional(Type.String({ description: 'what runs the workers, e.g. "Docker Engine 24.0.7" or "Python 3.11.2 (/usr/bin/python3)"' })),
});
export type RuntimeAvailability = Static<typeof RuntimeAvailability>;
