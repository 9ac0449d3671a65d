import { TaskError } from '../../errors.js';

/** The error of a call its own caller cancelled (its signal aborted) before the answer came. */
export function cancelledByCaller(): TaskError {
  return new TaskError('CANCELLED', 'The call was cancelled by its caller.', { hint: 'Run it again if you still need the answer.' });
}
