import type { LocalServable } from '../servable/registry.js';
import type { RuntimeRecord, RuntimeRegistry } from './registry.js';

/**
 * Pick the runtime for one call: the one asked for, else the most preferred runtime of the
 * registry that can run the servable and answers, else the last resort. Failing choices say what
 * to do instead. (The rules live in RuntimeRegistry.select; this is the name callers know.)
 */
export function selectRuntime(registry: RuntimeRegistry, servable: LocalServable, requested?: string): Promise<RuntimeRecord> {
  return registry.select(servable, requested);
}
