import type { FieldSpec } from '../fields.js';

/** A word, wildcard or quoted phrase, in one field or (field null) in any free-text field. */
export interface TermNode {
  kind: 'term';
  field: FieldSpec | null;
  text: string;
  phrase: boolean;
  wildcard: boolean;
  pos: number;
}

/** `field:[lo TO hi]`; a null bound is open (`*`). Numeric fields compare numbers, others compare text. */
export interface RangeNode {
  kind: 'range';
  field: FieldSpec;
  lo: string | null;
  hi: string | null;
  loInclusive: boolean;
  hiInclusive: boolean;
  pos: number;
}

/** A parsed query. `all` is the empty query or `*`: every record. */
export type QueryNode =
  | { kind: 'and'; children: QueryNode[] }
  | { kind: 'or'; children: QueryNode[] }
  | { kind: 'not'; child: QueryNode }
  | { kind: 'all' }
  | TermNode
  | RangeNode;
