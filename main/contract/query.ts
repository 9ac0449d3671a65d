// How a boolean is spelled in a query string. Plain data (no TypeBox): the door's validator reads it
// in a fresh process.

/** Spellings of true a query string may use (Python's urlencode sends True, Perl sends 1). */
export const QUERY_TRUE: readonly string[] = ['true', 'True', 'TRUE', '1'];
/** Spellings of false a query string may use. */
export const QUERY_FALSE: readonly string[] = ['false', 'False', 'FALSE', '0'];
