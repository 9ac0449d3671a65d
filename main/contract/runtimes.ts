/** Runtimes a request may name: the registry's RUNTIME_NAMES (a test keeps the two equal), as plain data for the doors and the CLI. */
export const RUNTIME_CHOICES = ['docker', 'host'] as const;
