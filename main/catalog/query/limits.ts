/**
 * Bounds on what one query may ask of the catalog. Each keeps a hostile or mistyped query from taking
 * seconds, gigabytes or the stack: a refused query gets a QueryError that names the limit.
 */
export const QUERY_LIMITS = {
  /** Characters in one query, free text or advanced. Real queries are tens of characters; 100 KB took 6-9 s. */
  maxLength: 4096,
  /** Nesting of '(' groups, NOT and field:( ) groups; the parser recurses once per level. */
  maxDepth: 32,
  /** Words, phrases and ranges in one query: each is evaluated over every record in scope (800 took 13 s at 100,000 records). */
  maxTerms: 50,
  /** Terms on a field with no index (servable.methods.<m>.input.type), each answered by reading every record. */
  maxScanTerms: 8,
  /** '*' and '?' in one term. */
  maxWildcardsPerTerm: 10,
  /** '*' and '?' in the whole query. */
  maxWildcardsPerQuery: 30,
  /** Characters in one wildcard term: matching costs value length times pattern length at worst. */
  maxWildcardTermLength: 256,
  /** Words longer than this are matched exactly: fuzzy matching costs memory quadratic in the word's length. */
  maxFuzzyWordLength: 32,
  /** Words longer than this are not expanded as a prefix while typing. */
  maxPrefixWordLength: 64,
} as const;
