import type { InitOptions } from '../../../main/servable/init.js';

/** The `dlhub init` options each example's dlhub.json was written with; the examples test re-runs them. */
export const EXAMPLE_OPTIONS: Record<string, InitOptions> = {
  noop: {
    name: 'noop', title: 'No-op (hello world)', creators: ['DLHub Desktop team'], year: 2025, version: '1.0.0',
    description: 'Returns "hello world" whatever the input; DLHub\'s benchmark servable for measuring serving overhead.',
    domains: ['benchmark'], license: 'Apache-2.0',
    input: { type: 'python object', python_type: 'builtins.object', description: 'Anything; it is ignored' },
    output: { type: 'string', description: 'Always "hello world"' },
  },
  function: {
    name: 'summary-stats', title: 'Summary statistics', creators: ['DLHub Desktop team'], year: 2025, version: '1.0.0',
    description: 'Count, mean, sample standard deviation, minimum, median and maximum of a list of numbers, in plain Python.',
    domains: ['statistics'], license: 'Apache-2.0',
    output: {
      type: 'dict', description: 'Summary statistics',
      properties: {
        count: { type: 'integer' }, mean: { type: 'number' }, std: { type: 'number' },
        min: { type: 'number' }, median: { type: 'number' }, max: { type: 'number' },
      },
    },
  },
  iris: {
    name: 'iris', title: 'Iris species classifier', creators: ['DLHub Desktop team'], year: 2025, version: '1.0.0',
    description: 'Random forest that tells the iris species from sepal and petal length and width (cm), trained on the iris data scikit-learn ships.',
    domains: ['biology'], license: 'Apache-2.0',
  },
};
