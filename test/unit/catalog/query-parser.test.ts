import { describe, expect, it } from 'vitest';
import { QueryError } from '../../../main/errors.js';
import { parseQuery } from '../../../main/catalog/query/parser.js';
import { QueryHelper, queryValue } from '../../../main/catalog/query-helper.js';

function errorOf(q: string): QueryError {
  try {
    parseQuery(q);
  } catch (err) {
    if (err instanceof QueryError) return err;
    throw err;
  }
  throw new Error(`expected ${q} to be rejected`);
}

describe('query parser', () => {
  it('reads DLHub field names, phrases, AND/OR/NOT with parentheses, ranges and wildcards', () => {
    const node = parseQuery('servable.type:"Keras Model" AND (dlhub.domains:chemistry OR NOT year:[2018 TO 2020}) dlhub.name:mat*');
    expect(node.kind).toBe('and');
    if (node.kind !== 'and') return;
    const [type, group, name] = node.children;
    expect(type).toMatchObject({ kind: 'term', text: 'Keras Model', phrase: true, field: { name: 'servable.type' } });
    expect(group).toMatchObject({ kind: 'or', children: [{ kind: 'term', text: 'chemistry' }, { kind: 'not', child: { kind: 'range', lo: '2018', hi: '2020', loInclusive: true, hiInclusive: false, field: { name: 'datacite.publicationYear' } } }] });
    expect(name).toMatchObject({ kind: 'term', wildcard: true, text: 'mat*', field: { name: 'dlhub.name' } });
  });

  it('binds AND tighter than OR, and treats the empty query and * as everything', () => {
    expect(parseQuery('a OR b AND c')).toMatchObject({ kind: 'or', children: [{ kind: 'term', text: 'a' }, { kind: 'and' }] });
    expect(parseQuery('')).toEqual({ kind: 'all' });
    expect(parseQuery('*:*')).toEqual({ kind: 'all' });
    expect(parseQuery('dlhub.domains:(chemistry OR physics)')).toMatchObject({ kind: 'or', children: [{ field: { name: 'dlhub.domains' } }, { field: { name: 'dlhub.domains' } }] });
    expect(parseQuery('servable.methods.predict.input.type:ndarray')).toMatchObject({ kind: 'term', field: { name: 'servable.methods.predict.input.type' } });
  });

  it.each([
    ['servable.type: AND x', "Expected a value after ':' at position 14", 14],
    ['servable.type:', "Expected a value after ':' at position 14", 14],
    ['(a OR b', "Expected ')' to close the '(' at position 0, found the end of the query at position 7", 7],
    ['a OR', "Expected a term after 'OR', found the end of the query at position 4", 4],
    ['a AND )', "Expected a term after 'AND', found ')' at position 6", 6],
    ['year:[2018 2020]', "Expected 'TO' after the lower bound, found a word at position 11", 11],
    ['year:[2018 TO 2020', "Expected ']' or '}' to close the range, found the end of the query at position 18", 18],
    ['title:"deep learning', `Expected a closing '"' for the phrase that starts at position 6`, 6],
    ['dlhub.nmae:x', "Unknown field 'dlhub.nmae' at position 0", 0],
    ['a ) b', "Unexpected ')' with no '(' before it at position 2", 2],
    [':x', "Expected a field name before ':' at position 0", 0],
  ])('rejects %j with the position and what was expected', (q, message, pos) => {
    const err = errorOf(q);
    expect(err.code).toBe('QUERY_INVALID');
    expect(err.message).toBe(message);
    expect(err.position).toBe(pos);
    // The hint shows the query with a caret under the position.
    const [line, caret] = (err.hint ?? '').split('\n');
    expect(line).toBe(q);
    expect(caret).toBe(`${' '.repeat(pos)}^`);
  });

  it('names the known fields when a field is unknown', () => {
    expect(errorOf('dlhub.nmae:x').hint).toContain('dlhub.name');
  });
});

describe('query helper', () => {
  it('builds the same text a user would type', () => {
    const q = new QueryHelper().matchTerm('servable.type', '"Keras Model"').matchDomains('chemistry').matchYears(2018, 2020).matchAuthors(['Ward, Logan', 'Chard, Kyle'], false)
      .matchOwner('loganward').matchDoi('10.26311/dlhub.1.0').matchType(['Keras Model', 'Torch Model']).matchTerm('crystal');
    expect(q.toString()).toBe('servable.type:"Keras Model" AND dlhub.domains:chemistry AND datacite.publicationYear:[2018 TO 2020] AND '
      + '(datacite.creators.creatorName:"Ward, Logan" OR datacite.creators.creatorName:"Chard, Kyle") AND dlhub.owner:loganward AND '
      + 'datacite.identifier.identifier:10.26311/dlhub.1.0 AND (servable.type:"Keras Model" OR servable.type:"Torch Model") AND crystal');
    expect(() => parseQuery(q.toString())).not.toThrow();
  });

  it('quotes values that would otherwise be read as syntax', () => {
    expect(queryValue('a:b')).toBe('"a:b"');
    expect(queryValue('say "hi"')).toBe('"say \\"hi\\""');
    expect(queryValue('OR')).toBe('"OR"');
    expect(queryValue('mat*')).toBe('mat*');
    expect(new QueryHelper().matchRange('dlhub.publication_date', null, 5, false).toString()).toBe('dlhub.publication_date:{* TO 5}');
  });
});
